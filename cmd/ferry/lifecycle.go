package main

// What ferry run, watch, logs and runs print of agent.Runner's lifecycle,
// and how its errors map to messages and exit codes.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/agent/outputs"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/ui"
	"github.com/ferry-ml/ferry/internal/units"
)

// runReconnectFor is how long ferry run tries to make a lost connection
// again before it gives up following (the run goes on; ferry logs -f
// reattaches). ferry watch tries for as long as it takes.
const runReconnectFor = 2 * time.Minute

// newRunner returns the lifecycle with its progress printed through p.
func (g *globalOptions) newRunner(hist *history.Store, p *ui.Printer, reconnectFor time.Duration) (*agent.Runner, error) {
	store, err := outputs.Open(filepath.Join(g.Home, "blobs"))
	if err != nil {
		return nil, err
	}
	manifests, err := agent.OpenManifests(filepath.Join(g.Home, "manifests"))
	if err != nil {
		return nil, err
	}
	bar := newProgressBar(p)
	return &agent.Runner{
		History: hist, Outputs: store, Manifests: manifests, Logger: g.logger, ReconnectFor: reconnectFor, MaxOutputSize: g.maxOutput,
		Hooks: agent.Hooks{
			OutputsSkipped: func(id string, got agent.FetchedOutputs) { noteSkipped(g, p, id, got) },
			Upload:         bar.update,
			Synced: func(res agent.SyncResult, err error) {
				bar.done()
				bar.reset()
				if err == nil {
					printSynced(p, res)
				}
			},
			Reconnecting: func(name string) { p.Noticef("ferry: connection to %s lost; reconnecting\n", name) },
			Reconnected:  func(name string) { p.Noticef("ferry: reconnected to %s\n", name) },
		},
	}, nil
}

func printSynced(p *ui.Printer, res agent.SyncResult) {
	if res.UpToDate {
		p.Noticef("ferry: upload: nothing to send, the target has this snapshot (%s)\n", res.Duration.Round(time.Millisecond))
		return
	}
	p.Noticef("ferry: upload: %s, %s (%s)\n", countFiles(res.UploadedFiles), units.Bytes(res.UploadedBytes), res.Duration.Round(time.Millisecond))
}

// resolveEnvironment resolves the run's environment: the flags win over
// the run configuration's choice.
func resolveEnvironment(opts runOptions) (agent.ResolvedEnv, error) {
	ch := opts.env
	ch.Python, ch.PythonSet, ch.Source = opts.Python, opts.pythonSet, opts.Source
	if opts.Requirements != "" {
		ch.Requirements = opts.Requirements
	}
	if opts.CondaFile != "" {
		ch.CondaFile, ch.CondaInline = opts.CondaFile, nil
	}
	if opts.DockerImage != "" {
		ch.DockerImage, ch.DockerText = opts.DockerImage, ""
	}
	if opts.Dockerfile != "" {
		ch.Dockerfile, ch.DockerText, ch.DockerImage = opts.Dockerfile, "", ""
	}
	if opts.DockerImage != "" && opts.Dockerfile != "" {
		return agent.ResolvedEnv{}, usageError{errors.New("--docker-image and --dockerfile exclude each other")}
	}
	if opts.GPUs != "" {
		ch.GPUs = opts.GPUs
	}
	// Flags come after the file's arguments: docker's last-one-wins holds.
	ch.DockerArgs = append(append([]string(nil), ch.DockerArgs...), opts.DockerArgs...)
	env, err := agent.ResolveEnvironment(ch)
	var inv *agent.InvalidError
	if errors.As(err, &inv) {
		return env, usageError{inv.Err}
	}
	return env, err
}

// launchError says what to do about a run that did not start.
func launchError(g *globalOptions, name string, err error) error {
	var re *agent.ReconnectError
	var mf *agent.MissingFilesError
	var refused *agent.RefusedError
	switch {
	case errors.As(err, &refused):
		return &UserError{Msg: fmt.Sprintf("compute target %s refused the run: %s", refused.Compute, strings.TrimPrefix(refused.Reason, "invalid run spec: ")),
			Hint: "nothing was submitted and the run is not kept: fix the request and run again"}
	case errors.As(err, &re) && re.GaveUp == 0:
		return connectError(g.targetNamed(name), re.Err)
	case errors.As(err, &mf):
		return &UserError{Msg: "cannot rerun: " + mf.Error(),
			Hint: "they changed or were deleted here since, and the original target does not hold them (any more): restore them, or run anew with 'ferry run'"}
	}
	return err
}

// followRun streams the run's log to stdout until it ends, records the
// result and collects outputs. Ctrl-C detaches: the run goes on.
func followRun(ctx context.Context, g *globalOptions, runner *agent.Runner, remote agent.Remote, p *ui.Printer, id string) error {
	r, err := runner.Follow(ctx, remote, id, 0, p.Out, nil)
	if errors.Is(err, context.Canceled) {
		p.Noticef("\nferry: detached; run %s goes on.\n  reattach: ferry logs -f %s\n  cancel:   ferry cancel %s\n", id, id, id)
		return exitError{130}
	}
	var re *agent.ReconnectError
	if errors.As(err, &re) {
		cause := error(re)
		if re.GaveUp == 0 {
			cause = connectError(g.targetNamed(re.Compute), re.Err)
		}
		return &UserError{Msg: fmt.Sprintf("lost the connection to %s: %v", re.Compute, cause),
			Hint: fmt.Sprintf("run %s goes on there; reattach with 'ferry logs -f %s'", id, id)}
	}
	if err != nil {
		return err
	}
	_, err = finishRun(context.WithoutCancel(ctx), runner, remote, p, r)
	return err
}

// finishRun records a run that ended and its outputs, prints how it ended
// and maps that to ferry's exit status.
func finishRun(ctx context.Context, runner *agent.Runner, remote agent.Remote, p *ui.Printer, r api.Run) (agent.Finished, error) {
	f := runner.Finish(ctx, remote, r)
	id := r.Spec.ID
	if f.OutputsErr != nil {
		p.Noticef("ferry: warning: outputs of %s not collected: %v (retry: ferry download %s)\n", id, f.OutputsErr, id)
	}
	took := ""
	if d, ok := runDuration(r); ok {
		took = " in " + roundDuration(d).String()
	}
	msg := fmt.Sprintf("ferry: run %s %s%s", id, r.Status, took)
	if r.Status == api.StatusFailed && r.StartedAt == nil {
		// The executor wrote the reason into the log just followed.
		msg += " before its script started (the reason is in the log above)"
	} else {
		msg += statusReason(r.Status, r.Reason)
	}
	if f.Outputs > 0 {
		msg += fmt.Sprintf("; %s in outputs/ (ferry download %s)", countFiles(f.Outputs), id)
	}
	p.Noticef("%s\n", msg)
	if f.RecordErr != nil {
		return f, recordFailed(f.RecordErr, runExit(r))
	}
	return f, runExit(r)
}

// runDuration is how long r's script ran, when it started and ended.
func runDuration(r api.Run) (time.Duration, bool) {
	if r.StartedAt == nil || r.EndedAt == nil {
		return 0, false
	}
	return r.EndedAt.Sub(*r.StartedAt), true
}

// roundDuration is how ferry shows a run's duration: to the millisecond.
func roundDuration(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// exitCanceled is ferry's exit status for a run that was canceled: 128 +
// SIGTERM, as a shell reports a job stopped by kill, and never 130, which
// says that Ctrl-C stopped ferry itself while the run goes on.
const exitCanceled = 143

// runExit maps a finished run to ferry's exit status: the script's own, or
// exitCanceled.
func runExit(r api.Run) error {
	switch {
	case r.Status == api.StatusCompleted:
		return nil
	case r.Status == api.StatusCanceled:
		return exitError{exitCanceled}
	case r.ExitCode != nil && *r.ExitCode != 0:
		return exitError{*r.ExitCode}
	default:
		return exitError{1}
	}
}

// refreshAll brings the records of unfinished runs in recs up to date from
// their targets, spending at most timeout on each; see
// agent.Runner.RefreshAll. It returns the names of the targets it could not
// reach in time, whose unfinished records are as last seen.
func refreshAll(ctx context.Context, g *globalOptions, hist *history.Store, p *ui.Printer, recs []history.Record, timeout time.Duration) (map[string]bool, error) {
	runner, err := g.newRunner(hist, p, 0)
	if err != nil {
		return nil, err
	}
	runner.RefreshTimeout = timeout
	var mu sync.Mutex
	stale := map[string]bool{}
	runner.RefreshAll(ctx, g.dialer(), recs, func(name string, n int, err error) {
		mu.Lock()
		stale[name] = true
		mu.Unlock()
		g.logger.Debug("cannot refresh runs", "compute", name, "runs", n, "error", err)
	})
	return stale, nil
}

// targetNamed is the attached compute target name, for messages.
func (g *globalOptions) targetNamed(name string) compute.Target {
	t, err := getTarget(g, name)
	if err != nil {
		return compute.Target{Name: name}
	}
	return t
}

// noteSkipped tells the user which outputs stayed on the target.
func noteSkipped(g *globalOptions, p *ui.Printer, id string, got agent.FetchedOutputs) {
	if len(got.Skipped) == 0 {
		return
	}
	p.Noticef("ferry: %s of run %s (%s) left on the target, over --max-output-size %s (ferry download %s --max-output-size 0 brings all):\n",
		countFiles(len(got.Skipped)), id, units.Bytes(got.SkippedBytes()), g.MaxOutputSize, id)
	for i, f := range got.Skipped {
		if i == 10 {
			p.Noticef("  ... and %d more\n", len(got.Skipped)-i)
			break
		}
		p.Noticef("  %s (%s)\n", f.Path, units.Bytes(f.Size))
	}
}

// recordFailed reports that the history lags what the target said of a
// run: the script's own failure keeps its exit status, and a run that
// succeeded makes ferry exit 1, so a script or CI notices either way.
func recordFailed(err, exit error) error {
	hint := "free space under FERRY_HOME; 'ferry runs --refresh' then records what the target says"
	if exit != nil {
		ui.New(false).Noticef("ferry: error: %v\nferry: hint: %s\n", err, hint)
		return exit
	}
	return &UserError{Msg: err.Error(), Hint: hint}
}

// dialer connects to compute targets by name for the lifecycle.
func (g *globalOptions) dialer() agent.Dialer {
	return func(ctx context.Context, name string) (agent.Remote, error) {
		conn, err := g.connect(ctx, name)
		if err != nil {
			return nil, err
		}
		return conn, nil
	}
}
