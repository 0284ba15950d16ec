package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/agent/outputs"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/ui"
)

// followRun streams the run's log to stdout until it ends, records the
// result and collects outputs. Ctrl-C detaches: the run goes on.
func followRun(ctx context.Context, g *globalOptions, conn *agent.Conn, hist *history.Store, p *ui.Printer, id string) error {
	r, err := followResuming(ctx, g, conn, p, id)
	if errors.Is(err, context.Canceled) {
		p.Noticef("\nferry: detached; run %s goes on.\n  reattach: ferry logs -f %s\n  cancel:   ferry cancel %s\n", id, id, id)
		return exitError{130}
	}
	if err != nil {
		return err
	}
	return finishRun(context.WithoutCancel(ctx), g, conn, hist, p, r)
}

// followResuming follows the run's log; when the connection drops it
// reconnects (for up to runReconnectFor) and resumes where the log stopped.
func followResuming(ctx context.Context, g *globalOptions, conn *agent.Conn, p *ui.Printer, id string) (api.Run, error) {
	out := &countingWriter{w: os.Stdout}
	for {
		r, err := conn.Follow(ctx, id, out.n, out)
		if !errors.Is(err, agent.ErrConnLost) {
			return r, err
		}
		if rerr := reconnect(ctx, g, p, conn, runReconnectFor); rerr != nil {
			if errors.Is(rerr, context.Canceled) {
				return r, rerr
			}
			return r, &UserError{Msg: fmt.Sprintf("lost the connection to %s: %v", conn.Target.Name, rerr),
				Hint: fmt.Sprintf("run %s goes on there; reattach with 'ferry logs -f %s'", id, id)}
		}
	}
}

// finishRun records a terminal run and its outputs, and maps its end to
// ferry's exit status.
func finishRun(ctx context.Context, g *globalOptions, conn *agent.Conn, hist *history.Store, p *ui.Printer, r api.Run) error {
	id := r.Spec.ID
	if err := hist.ApplyRun(ctx, r); err != nil {
		g.logger.Warn("cannot record run", "run_id", id, "error", err)
	}
	n, err := collectOutputs(ctx, g, conn, hist, id)
	if err != nil {
		p.Noticef("ferry: warning: outputs of %s not collected: %v (retry: ferry download %s)\n", id, err, id)
	}
	took := ""
	if r.StartedAt != nil && r.EndedAt != nil {
		took = " in " + r.EndedAt.Sub(*r.StartedAt).Round(time.Millisecond).String()
	}
	msg := fmt.Sprintf("ferry: run %s %s%s", id, r.Status, took)
	msg += statusReason(r.Status, r.Reason)
	if n > 0 {
		msg += fmt.Sprintf("; %s in outputs/ (ferry download %s)", countFiles(n), id)
	}
	p.Noticef("%s\n", msg)
	return runExit(r)
}

// runExit maps a finished run to ferry's exit status: the script's own.
func runExit(r api.Run) error {
	switch {
	case r.Status == api.StatusCompleted:
		return nil
	case r.ExitCode != nil && *r.ExitCode != 0:
		return exitError{*r.ExitCode}
	case r.Status == api.StatusCanceled:
		return exitError{130}
	default:
		return exitError{1}
	}
}

// collectOutputs brings the run's outputs/ into the local store.
func collectOutputs(ctx context.Context, g *globalOptions, conn *agent.Conn, hist *history.Store, id string) (int, error) {
	store, err := outputs.Open(filepath.Join(g.Home, "blobs"))
	if err != nil {
		return 0, err
	}
	files, _, err := conn.FetchOutputs(ctx, id, store)
	if err != nil {
		return 0, err
	}
	if err := hist.SetOutputs(ctx, id, "", files); err != nil {
		return 0, err
	}
	return len(files), nil
}
