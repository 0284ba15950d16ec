package main

// One iteration of ferry watch on the target: record, sync, submit, follow.

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/snapshot"
)

// execute records, syncs, submits and follows one run.
func (s *watchSession) execute(ctx context.Context, stop <-chan struct{}, plan runPlan, m *snapshot.Manifest) (api.Run, error) {
	if err := checkScriptIncluded(m, plan.Script); err != nil {
		return api.Run{}, err
	}
	if err := s.ensureConn(ctx); err != nil {
		return api.Run{}, err
	}
	rec := newRecord(ctx, s.g, plan, m)
	if err := s.hist.Put(ctx, rec); err != nil {
		return api.Run{}, err
	}
	prep, cancelPrep := context.WithCancel(ctx)
	defer cancelPrep()
	go func() {
		select {
		case <-stop:
			cancelPrep()
		case <-prep.Done():
		}
	}()
	r, err := s.submitOnce(prep, plan, m)
	if err != nil {
		if prep.Err() != nil {
			return s.canceledBeforeStart(ctx, plan.ID)
		}
		return r, failRecord(ctx, s.hist, plan.ID, err)
	}
	return s.follow(ctx, stop, plan.ID)
}

// submitOnce submits the run; when the connection drops on the way, it
// reconnects and submits again unless the run reached the target.
func (s *watchSession) submitOnce(ctx context.Context, plan runPlan, m *snapshot.Manifest) (api.Run, error) {
	r, err := s.submit(ctx, plan, m)
	if err == nil || !s.conn.Lost() || ctx.Err() != nil {
		return r, err
	}
	if rerr := s.ensureConn(ctx); rerr != nil {
		return r, errLostBeforeStart(plan.Compute, errors.Join(err, rerr))
	}
	if r, gerr := s.conn.Run(ctx, plan.ID); gerr == nil {
		s.hist.ApplyRun(ctx, r) // it started before the link dropped
		return r, nil
	}
	return s.submit(ctx, plan, m)
}

// submit syncs the snapshot and starts the run.
func (s *watchSession) submit(ctx context.Context, plan runPlan, m *snapshot.Manifest) (api.Run, error) {
	if err := syncForRun(ctx, s.conn, s.p, plan, m); err != nil {
		return api.Run{}, err
	}
	r, err := s.conn.Submit(ctx, runSpec(plan, m))
	if err != nil {
		return r, err
	}
	s.hist.ApplyRun(ctx, r)
	return r, nil
}

// canceledBeforeStart records a run stopped before it reached the target.
func (s *watchSession) canceledBeforeStart(ctx context.Context, id string) (api.Run, error) {
	now := time.Now().UTC()
	reason := "canceled by ferry watch before it started"
	if err := s.hist.UpdateStatus(context.WithoutCancel(ctx), id, api.StatusCanceled, nil, reason, nil, &now); err != nil {
		return api.Run{}, err
	}
	return api.Run{Spec: api.RunSpec{ID: id}, Status: api.StatusCanceled, Reason: reason, EndedAt: &now}, nil
}

// follow streams the run's log to stdout until it ends. When stop is
// closed or ctx ends, it cancels the run on the target and goes on
// following until the run has ended (at most watchCancelWait more). A lost
// connection is made again and the log resumes where it stopped.
func (s *watchSession) follow(ctx context.Context, stop <-chan struct{}, id string) (api.Run, error) {
	out := &countingWriter{w: os.Stdout}
	canceled := false
	for {
		r, stopped, err := s.followOnce(ctx, stop, id, out, canceled)
		canceled = canceled || stopped
		if err == nil || !errors.Is(err, agent.ErrConnLost) {
			return r, err
		}
		if err := s.ensureConn(ctx); err != nil {
			return r, err
		}
	}
}

// followOnce follows the run from out's count on the current connection;
// stopped reports that it was asked to cancel the run (and did, or tried).
// With cancel set, it cancels the run at once (a cancel asked for on a
// connection that was lost since).
func (s *watchSession) followOnce(ctx context.Context, stop <-chan struct{}, id string, out *countingWriter, cancelNow bool) (api.Run, bool, error) {
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	helper := make(chan bool, 1)
	go func() {
		if !cancelNow {
			select {
			case <-stop:
			case <-ctx.Done():
			case <-fctx.Done():
				helper <- false
				return
			}
		}
		cctx, c := context.WithTimeout(fctx, watchCancelWait)
		defer c()
		if _, err := s.conn.Cancel(cctx, id); err != nil {
			s.g.logger.Warn("cannot cancel run", "run_id", id, "error", err)
		}
		helper <- true
		<-cctx.Done()
		cancel()
	}()
	r, err := s.conn.Follow(fctx, id, out.n, out)
	cancel()
	return r, <-helper, err
}
