package portal

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/hashicorp/go-hclog"
)

// Tracker limits.
const (
	// maxTracked bounds how many unfinished runs are followed at once.
	maxTracked = 32
	// trackRetry is how long a run whose target could not be reached is
	// left alone before the next try.
	trackRetry = 2 * time.Minute
)

// tracker keeps the history current for runs nobody else follows (started
// with --detach, or whose ferry process went away): for each unfinished
// run it follows the executor's log stream (which ends when the run ends,
// so nothing polls) and records the run when output first appears and when
// it ends. Each write to the history wakes the pages through changes.
type tracker struct {
	s   *Server
	log hclog.Logger

	mu      sync.Mutex
	active  map[string]bool
	retryAt map[string]time.Time
	sem     chan struct{}
	wg      sync.WaitGroup
}

func newTracker(s *Server) *tracker {
	return &tracker{s: s, log: s.log.Named("tracker"), active: make(map[string]bool),
		retryAt: make(map[string]time.Time), sem: make(chan struct{}, maxTracked)}
}

// run tracks the unfinished runs now and after every history change until
// ctx ends, then waits for its followers.
func (t *tracker) run(ctx context.Context) {
	ch, stop := t.s.changes.subscribe()
	defer stop()
	defer t.wg.Wait()
	for {
		t.scan(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}

// scan starts a follower for each unfinished run not followed yet.
func (t *tracker) scan(ctx context.Context) {
	var open []history.Record
	for _, st := range []api.Status{api.StatusQueued, api.StatusPreparing, api.StatusRunning} {
		recs, err := t.s.cfg.History.List(ctx, history.Filter{Status: st, Limit: maxTracked})
		if err != nil {
			t.log.Warn("list unfinished runs", "error", err)
			return
		}
		open = append(open, recs...)
	}
	for _, rec := range open {
		if t.claim(rec.ID) {
			t.wg.Go(func() { t.follow(ctx, rec) })
		}
	}
}

// claim marks id as followed, unless it is already or must wait.
func (t *tracker) claim(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.active[id] || time.Now().Before(t.retryAt[id]) {
		return false
	}
	t.active[id] = true
	return true
}

// release ends the following of id; failed runs are retried later.
func (t *tracker) release(id string, failed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.active, id)
	delete(t.retryAt, id)
	if failed {
		t.retryAt[id] = time.Now().Add(trackRetry)
	}
}

// follow follows one run to its end and records it.
func (t *tracker) follow(ctx context.Context, rec history.Record) {
	select {
	case t.sem <- struct{}{}:
		defer func() { <-t.sem }()
	case <-ctx.Done():
		t.release(rec.ID, false)
		return
	}
	err := t.followOnce(ctx, rec)
	if err != nil && ctx.Err() == nil {
		t.log.Debug("cannot follow run", "run_id", rec.ID, "compute", rec.Compute, "error", err)
	}
	t.release(rec.ID, err != nil)
}

func (t *tracker) followOnce(ctx context.Context, rec history.Record) error {
	conn, err := t.s.connect(ctx, rec.Compute)
	if err != nil {
		return err
	}
	defer conn.Close()
	run, err := conn.Run(ctx, rec.ID)
	if err != nil {
		return err
	}
	if run.Status.Terminal() {
		_, err := t.s.runner.Refresh(ctx, conn, rec)
		return err
	}
	t.apply(ctx, run)
	w := &firstWrite{fn: func() {
		if r, err := conn.Run(ctx, rec.ID); err == nil {
			t.apply(ctx, r)
		}
	}}
	if run, err = conn.Follow(ctx, rec.ID, run.LogSize, w); err != nil {
		return err
	}
	t.s.recordEnd(ctx, conn, rec, run)
	return nil
}

func (t *tracker) apply(ctx context.Context, run api.Run) {
	if err := t.s.cfg.History.ApplyRun(ctx, run); err != nil {
		t.log.Warn("record run", "run_id", run.Spec.ID, "error", err)
	}
}

// firstWrite discards the log and calls fn once, at its first byte: the
// run is running by then, which the history should say.
type firstWrite struct {
	fn   func()
	done bool
}

func (f *firstWrite) Write(p []byte) (int, error) {
	if !f.done && len(p) > 0 {
		f.done = true
		f.fn()
	}
	return len(p), nil
}

var _ io.Writer = (*firstWrite)(nil)
