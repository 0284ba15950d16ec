package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/agent/watch"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/ui"
	"github.com/ferry-ml/ferry/snapshot"
	"github.com/spf13/cobra"
)

// watchCancelWait bounds how long a canceled run may take to end before
// ferry watch stops following it (the executor's SIGKILL comes after 10 s).
const watchCancelWait = 30 * time.Second

type watchOptions struct {
	run      runOptions
	OnChange string
	JSON     bool
	KeepRuns int
}

func newWatchCommand(g *globalOptions) *cobra.Command {
	var opts watchOptions
	cmd := &cobra.Command{
		Use:   "watch [flags] SCRIPT [ARGS...]",
		Short: "Run a script, then run it again every time the source changes",
		Long: `Run SCRIPT on the compute target as 'ferry run' does, then again each time
the snapshot of the source directory changes. Changes to ignored files
(.gitignore, .amlignore, .ferryignore), to editors' scratch files (x~,
.x.swp) and saves that leave the content as it was do not rerun. Bursts of
changes (an editor's save, a git checkout) give one rerun.

A change while a run is going cancels it and starts a new one
(--on-change cancel, the default), or lets it finish and then runs the
newest state once (--on-change queue). Each run is a normal run in the
history, in the experiment <source directory>-watch unless --experiment
says otherwise. One connection to the target serves every run.

Each run's directory on the target holds a tree of its snapshot, so the
target keeps only the newest --keep-runs of them (default 3): an older
run's directory is deleted there once its log, metrics and outputs are in
the local history ('ferry logs', 'ferry show' and 'ferry download' read
them from there). A run whose outputs passed --max-output-size keeps its
directory. --keep-runs -1 keeps them all.

Ctrl-C stops watching and cancels the run in flight (unlike 'ferry run',
where it only detaches). A dropped SSH connection is made again for as
long as it takes; the run in flight is followed on where its log stopped.

The flags are 'ferry run''s, environments included (--conda-file,
--requirements, --docker-image, --runconfig, ...).

--json prints JSON lines on stdout, one event each, for editors and CI:
{"event":"start","iteration":N,"id":RUN,"changed":[PATHS]} when a run
starts, {"event":"status","id":RUN,"status":S} once the target has it
and at each change until its script runs,
{"event":"end","id":RUN,"status":S,"exit_code":N,"duration_s":F,"error":E}
when it ends (exit_code null when the script never ran; duration_s is
the script's run time, the one the end line on stderr shows), and
{"event":"stopped","reason":R} last. Every event has "time" (RFC 3339).
The script's output then goes to stderr with ferry's messages.`,
		Example: `  ferry watch train.py --epochs 1
  ferry watch --compute myvm --on-change queue train.py
  ferry watch --compute myvm --conda-file environment.yml train.py
  ferry watch --requirements requirements.txt train.py`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && opts.run.RunConfig == "" {
				return usageError{errors.New("ferry watch expects SCRIPT [ARGS...] or --runconfig FILE")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			args, err := opts.run.prepareArgs(cmd, g, args)
			if err != nil {
				return err
			}
			return runWatch(contextOf(cmd), opts, g, args)
		},
	}
	opts.run.addPlanFlags(cmd)
	cmd.Flags().StringVar(&opts.OnChange, "on-change", envOr("FERRY_ON_CHANGE", "cancel"),
		"what a change does to the run in flight: cancel (cancel it, start anew) or queue (let it finish, then run once) (env FERRY_ON_CHANGE)")
	cmd.Flags().IntVar(&opts.KeepRuns, "keep-runs", watch.DefaultKeepRuns,
		"directories of this watch's ended runs kept on the target, newest first; older ones are deleted there once the local history has their log, metrics and outputs (-1: keep all)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print one JSON event per line on stdout (start, status, end of each run); the script's output goes to stderr")
	return cmd
}

// watchSession is what every iteration of one ferry watch shares.
type watchSession struct {
	g      *globalOptions
	p      *ui.Printer
	events *watchEvents // nil unless --json
	plan   agent.Plan
	conn   *agent.Conn
	runner *agent.Runner
	retain *watch.Retention
	taken  int // snapshots taken so far
}

func runWatch(ctx context.Context, opts watchOptions, g *globalOptions, args []string) error {
	mode, err := watch.ParseMode(opts.OnChange)
	if err != nil {
		return usageError{fmt.Errorf("--on-change: %w", err)}
	}
	src, err := checkSource(opts.run.Source)
	if err != nil {
		return err
	}
	if opts.run.Experiment == "" {
		opts.run.Experiment = filepath.Base(src) + "-watch"
	}
	plan, err := resolvePlan(opts.run, g, args)
	if err != nil {
		return err
	}
	warnEnvironment(os.Stderr, plan)
	hist, err := openHistory(g)
	if err != nil {
		return err
	}
	defer hist.Close()
	p := ui.New(false)
	runner, err := g.newRunner(hist, p, 0)
	if err != nil {
		return err
	}
	runner.CancelOnDone, runner.CancelWait = true, watchCancelWait
	conn, err := g.connect(ctx, plan.Compute)
	if err != nil {
		return err
	}
	defer conn.Close()
	s := &watchSession{g: g, p: p, plan: plan, conn: conn, runner: runner, retain: watch.NewRetention(opts.KeepRuns)}
	if opts.JSON {
		s.events = newWatchEvents(os.Stdout)
		p.Out = os.Stderr // stdout carries only the events
	}
	return s.loop(ctx, mode, opts.OnChange)
}

// loop runs the watch loop and turns how it ended into ferry's exit.
func (s *watchSession) loop(ctx context.Context, mode watch.Mode, modeName string) error {
	s.p.Noticef("ferry: watching %s for changes (on change: %s); Ctrl-C stops watching and cancels the run in flight\n",
		s.plan.Source, modeName)
	loop := watch.NewLoop(watch.Config{
		Root: s.plan.Source, Mode: mode, Snapshot: s.snapshot, Prefetch: s.prefetch, Run: s.iterate, Logger: s.g.logger,
		Watcher: watch.WatcherOptions{Notice: func(msg string) { s.p.Noticef("ferry: warning: %s\n", msg) }},
	})
	err := loop.Run(ctx)
	s.events.stopped(ctx, err)
	switch {
	case errors.Is(err, watch.ErrSourceGone):
		return &UserError{Msg: fmt.Sprintf("the source directory %s disappeared; stopped watching", s.plan.Source),
			Hint: "restore it (or pass --source the directory that now holds your code) and start ferry watch again"}
	case ctx.Err() != nil:
		s.p.Noticef("ferry: stopped watching\n")
		return exitError{130}
	}
	return err
}

// snapshot takes the snapshot of the source with the stat cache; the first
// one also warns about a big snapshot, as ferry run does.
func (s *watchSession) snapshot(ctx context.Context) (*snapshot.Manifest, error) {
	s.taken++
	if s.taken == 1 {
		m, _, err := takeSnapshot(ctx, s.g, s.plan.Source, s.p)
		return m, err
	}
	opts := agent.ForSync(snapshot.Options{CacheDir: filepath.Join(s.g.Home, "cache", "stat"), Logger: s.g.logger,
		Warn: noticeWarn(s.p, nil), Tree: s.g.treeChanges(ctx)})
	m, _, err := snapshot.Take(ctx, s.plan.Source, opts)
	return m, err
}

// prefetch uploads an early snapshot while the debounce runs out; the
// run's sync then has nothing left to send. A failure only costs the time.
func (s *watchSession) prefetch(ctx context.Context, m *snapshot.Manifest) {
	if s.plan.Blobs != nil {
		return // the run's files come from elsewhere (a rerun)
	}
	if _, err := s.conn.Sync(ctx, s.plan.Source, m, nil); err != nil && ctx.Err() == nil {
		s.g.logger.Debug("early upload failed; the run uploads what is missing", "error", err)
	}
}

// iterate is one run of the loop: a normal run in the history, followed to
// its end; stop (or ctx) cancels it.
func (s *watchSession) iterate(ctx context.Context, stop <-chan struct{}, it watch.Iteration) watch.Outcome {
	start := time.Now()
	plan := s.plan
	plan.ID = history.NewRunID(plan.Experiment, start)
	s.p.Noticef("%s\n", separator(it, plan.ID))
	s.events.start(it, plan.ID)
	o := watch.Outcome{RunID: plan.ID}
	r, err := s.execute(ctx, stop, plan, it.Manifest)
	o.Duration = time.Since(start)
	if d, ok := runDuration(r); ok {
		o.Duration = d // the one the end line shows
	}
	o.Status = r.Status
	defer func() { s.events.end(plan.ID, r, o) }()
	if err != nil {
		o.Err = err
		if ctx.Err() != nil && s.conn.Lost() {
			s.p.Noticef("ferry: run %s may still be going on %s (the connection was lost): 'ferry cancel %s' stops it\n",
				plan.ID, plan.Compute, plan.ID)
			return o
		}
		s.p.Noticef("ferry: run %s: %v\n", plan.ID, err)
		return o
	}
	if r.StartedAt == nil && r.Status == api.StatusCanceled {
		s.p.Noticef("ferry: run %s %s: %s\n", plan.ID, r.Status, r.Reason) // never reached the target
		return o
	}
	f, _ := finishRun(context.WithoutCancel(ctx), s.runner, s.conn, s.p, r) // it printed how the run ended
	s.removeOld(context.WithoutCancel(ctx), f)
	return o
}

// removeOld deletes from the target the directories of the runs that
// --keep-runs no longer keeps, now that run f has ended. A failure costs
// only disk space on the target, so it is a warning.
func (s *watchSession) removeOld(ctx context.Context, f agent.Finished) {
	for _, id := range s.retain.Ended(f.Run.Spec.ID, f.Kept()) {
		if err := s.conn.RemoveRun(ctx, id); err != nil {
			s.p.Noticef("ferry: warning: %v\n", err)
		}
	}
}

// separator is the line that opens each iteration on stderr.
func separator(it watch.Iteration, id string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "──── ferry watch: run %d (%s)", it.N, id)
	switch {
	case it.N == 1:
		b.WriteString(" · first run")
	case len(it.Changed) == 1:
		fmt.Fprintf(&b, " · 1 file changed: %s", it.Changed[0])
	default:
		fmt.Fprintf(&b, " · %d files changed: %s", len(it.Changed), listNames(it.Changed, 5))
	}
	if prev := it.Previous; prev != nil {
		fmt.Fprintf(&b, " · previous: %s", outcomeWords(*prev))
	}
	b.WriteString(" ────")
	return b.String()
}

// listNames joins up to n names, then says how many more there are.
func listNames(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

func outcomeWords(o watch.Outcome) string {
	status := string(o.Status)
	if status == "" {
		status = "not started"
	}
	if o.Err != nil && o.Status == "" {
		status = "error"
	}
	return fmt.Sprintf("%s after %s", status, roundDuration(o.Duration))
}
