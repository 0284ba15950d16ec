package watch

import (
	"context"
	"fmt"
	"path"
	"sort"
	"sync"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/snapshot"
	"github.com/hashicorp/go-hclog"
)

// Mode says what a change does to a run in flight.
type Mode int

const (
	// Cancel stops the run in flight and starts one on the new snapshot.
	Cancel Mode = iota
	// Queue lets the run in flight finish, then runs the newest snapshot
	// once.
	Queue
)

// ParseMode parses "cancel" or "queue".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "cancel":
		return Cancel, nil
	case "queue":
		return Queue, nil
	}
	return 0, fmt.Errorf("unknown mode %q: want cancel or queue", s)
}

// Iteration is one run of the loop.
type Iteration struct {
	N        int                // 1 for the first run
	Manifest *snapshot.Manifest // the snapshot to run
	// Changed lists the paths added, changed or removed since the previous
	// run's snapshot, sorted (editors' scratch files left out); nil for the
	// first run.
	Changed  []string
	Previous *Outcome // how the previous run ended; nil for the first
}

// Outcome is how one run ended.
type Outcome struct {
	RunID    string
	Status   api.Status // "" when it never reached the target
	Err      error      // why it could not run or follow, if so
	Duration time.Duration
}

// RunFunc runs one iteration and returns once the run has ended. When stop
// is closed or ctx ends it must cancel the run (on the target too) and
// return promptly. The Loop calls it on a goroutine of its own, never two
// at a time.
type RunFunc func(ctx context.Context, stop <-chan struct{}, it Iteration) Outcome

// Config configures a Loop.
type Config struct {
	Root string // the source directory, absolute
	Mode Mode
	// Snapshot takes the snapshot of Root (with the stat cache, so only
	// what changed is read again).
	Snapshot func(ctx context.Context) (*snapshot.Manifest, error)
	// Prefetch, when set, uploads an early snapshot that differs from
	// the last run's while the debounce runs out (errors are its own to
	// log); the run's own sync then finds it there. It may be canceled.
	Prefetch func(ctx context.Context, m *snapshot.Manifest)
	Run      RunFunc
	Watcher  WatcherOptions
	Logger   hclog.Logger
}

// Loop reruns Config.Run each time the snapshot changes.
//
// One goroutine (Run's caller) owns all state and selects over triggers,
// run completion and ctx; the Watcher's goroutine feeds triggers through a
// 1-buffered channel, so triggers that arrive while a snapshot is taken
// coalesce into one.
//
//	        trigger, snapshot differs
//	idle ─────────────────────────────▶ running
//	 ▲                                    │ trigger, differs: pending
//	 │ done, nothing pending              │   (cancel mode: stop the run)
//	 └────────────────────────────────────┤
//	          done, pending: re-trigger ──┘ (snapshot again: newest state)
type Loop struct {
	cfg     Config
	log     hclog.Logger
	trigger chan struct{}
	done    chan Outcome

	last    *snapshot.Manifest // snapshot of the newest run started
	n       int
	cur     *inflight
	pending bool
	prev    *Outcome

	w     *Watcher
	early *early // the early snapshot taken or being taken, if any
}

// early is a snapshot taken once a burst of events settled, before the
// trigger (and, with Config.Prefetch, uploaded): the trigger uses it when
// the watcher saw no change since it began.
type early struct {
	gen    uint64 // the watcher's generation when it began
	cancel context.CancelFunc
	done   chan struct{} // closed once m and err are set
	m      *snapshot.Manifest
	err    error
}

type inflight struct {
	stop     chan struct{}
	stopOnce sync.Once
}

func (f *inflight) cancel() { f.stopOnce.Do(func() { close(f.stop) }) }

// NewLoop returns a loop; nothing starts before Run.
func NewLoop(cfg Config) *Loop {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Watcher.Logger == nil {
		cfg.Watcher.Logger = cfg.Logger
	}
	return &Loop{cfg: cfg, log: cfg.Logger.Named("watch"), trigger: make(chan struct{}, 1), done: make(chan Outcome, 1)}
}

// Run watches, runs once, then reruns on every change until ctx ends (it
// returns ctx's error once the run in flight is canceled) or the source
// directory disappears (ErrSourceGone).
func (l *Loop) Run(ctx context.Context) (err error) {
	w, err := NewWatcher(l.cfg.Root, l.cfg.Watcher)
	if err != nil {
		return err
	}
	defer w.Close()
	l.w = w
	wctx, stopWatch := context.WithCancel(ctx)
	werr := make(chan error, 1)
	go func() { werr <- w.Run(wctx, l.trigger) }()
	defer func() {
		stopWatch()
		if werr != nil {
			<-werr
		}
	}()
	defer func() { err = l.shutdown(err) }()

	m, err := l.cfg.Snapshot(ctx)
	if err != nil {
		return err
	}
	l.start(ctx, m, nil)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-werr:
			werr = nil
			return err
		case <-w.Settled():
			l.onSettled(ctx)
		case <-l.trigger:
			if err := l.onTrigger(ctx); err != nil {
				return err
			}
		case o := <-l.done:
			l.onDone(o)
		}
	}
}

// onTrigger takes the snapshot and decides: nothing changed, start a run,
// or mark one pending (and in cancel mode stop the run in flight).
func (l *Loop) onTrigger(ctx context.Context) error {
	m, err := l.snapshot(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // the ctx case ends the loop
		}
		if !isDir(l.cfg.Root) {
			return ErrSourceGone
		}
		l.log.Warn("cannot snapshot; waiting for the next change", "error", err)
		return nil
	}
	changed := changedPaths(l.last, m)
	l.log.Debug("snapshot", "id", m.ID().Short(), "changed", len(changed), "running", l.cur != nil)
	switch {
	case l.cur == nil && len(changed) > 0:
		l.start(ctx, m, changed)
	case l.cur == nil:
	case len(changed) == 0:
		l.pending = false // back to what is running
	default:
		l.pending = true
		if l.cfg.Mode == Cancel {
			l.cur.cancel()
		}
	}
	return nil
}

// onSettled begins an early snapshot, unless one is being taken or the one
// taken is still current.
func (l *Loop) onSettled(ctx context.Context) {
	if e := l.early; e != nil {
		select {
		case <-e.done:
			if e.gen == l.w.Generation() {
				return
			}
		default:
			return // the trigger waits for it and checks it
		}
		e.cancel()
	}
	ectx, cancel := context.WithCancel(ctx)
	e := &early{gen: l.w.Generation(), cancel: cancel, done: make(chan struct{})}
	l.early = e
	last := l.last
	go func() {
		defer close(e.done)
		e.m, e.err = l.cfg.Snapshot(ectx)
		if e.err == nil && l.cfg.Prefetch != nil && (last == nil || last.ID() != e.m.ID()) {
			l.cfg.Prefetch(ectx, e.m)
		}
	}()
}

// snapshot returns the early snapshot when the watcher saw no change since
// it began (waiting for it, and its upload, to end), else takes one.
func (l *Loop) snapshot(ctx context.Context) (*snapshot.Manifest, error) {
	if e := l.early; e != nil {
		l.early = nil
		if e.gen != l.w.Generation() {
			e.cancel() // stale already: do not wait for its upload
		}
		select {
		case <-e.done:
		case <-ctx.Done():
		}
		e.cancel()
		<-e.done
		if e.err == nil && e.gen == l.w.Generation() {
			l.log.Trace("using the early snapshot", "id", e.m.ID().Short())
			return e.m, nil
		}
	}
	return l.cfg.Snapshot(ctx)
}

// onDone records how the run ended and, when changes are pending, takes
// the newest snapshot through a trigger of its own.
func (l *Loop) onDone(o Outcome) {
	l.prev, l.cur = &o, nil
	if l.pending {
		l.pending = false
		send(l.trigger)
	}
}

// start runs iteration n+1 on m on a goroutine of its own.
func (l *Loop) start(ctx context.Context, m *snapshot.Manifest, changed []string) {
	l.n++
	it := Iteration{N: l.n, Manifest: m, Changed: changed, Previous: l.prev}
	f := &inflight{stop: make(chan struct{})}
	l.last, l.cur = m, f
	go func() {
		o := l.cfg.Run(ctx, f.stop, it)
		l.done <- o // buffered, and the loop receives it before starting another
	}()
}

// shutdown stops the run in flight and the early snapshot and waits for
// them, keeping cause.
func (l *Loop) shutdown(cause error) error {
	if e := l.early; e != nil {
		e.cancel()
		<-e.done
		l.early = nil
	}
	if l.cur != nil {
		l.cur.cancel()
		o := <-l.done
		l.prev, l.cur = &o, nil
	}
	return cause
}

// changedPaths lists the paths that differ between old and new, leaving
// out editors' scratch files. old nil means the first run: nil.
func changedPaths(old, new *snapshot.Manifest) []string {
	if old == nil {
		return nil
	}
	c := snapshot.Diff(old, new)
	var out []string
	for _, list := range [][]snapshot.Entry{c.Added, c.Changed, c.Removed} {
		for _, e := range list {
			if !isScratch(path.Base(e.Path)) {
				out = append(out, e.Path)
			}
		}
	}
	sort.Strings(out)
	return out
}
