package main

// One iteration of ferry watch on the target: agent.Runner's lifecycle.

import (
	"context"
	"errors"
	"time"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/snapshot"
)

// execute records, syncs, submits and follows one run over the session's
// connection; stop (or ctx) cancels it.
func (s *watchSession) execute(ctx context.Context, stop <-chan struct{}, plan agent.Plan, m *snapshot.Manifest) (api.Run, error) {
	if err := checkScriptIncluded(m, plan.Script); err != nil {
		return api.Run{}, err
	}
	ready := func(context.Context) (agent.Remote, error) { return s.conn, nil }
	_, launched, err := s.runner.Launch(ctx, ready, plan, m, stop)
	if err != nil {
		if errors.Is(err, agent.ErrStopped) {
			now := time.Now().UTC()
			return api.Run{Spec: api.RunSpec{ID: plan.ID}, Status: api.StatusCanceled,
				Reason: "canceled before it started", EndedAt: &now}, nil
		}
		return api.Run{}, err
	}
	s.events.status(plan.ID, launched.Status)
	if s.events != nil {
		defer s.watchStatus(ctx, plan.ID, launched.Status)()
	}
	return s.runner.Follow(ctx, s.conn, plan.ID, 0, s.p.Out, stop)
}

// statusPoll is how often ferry watch --json asks the target for the
// status of a run that has not started its script yet.
const statusPoll = 100 * time.Millisecond

// watchStatus reports run id's status changes as events until its script
// runs (or the run ends: the end event says so); the returned func stops
// it and waits for it.
func (s *watchSession) watchStatus(ctx context.Context, id string, last api.Status) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(statusPoll)
		defer t.Stop()
		for last != api.StatusRunning && !last.Terminal() {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			r, err := s.conn.Run(ctx, id)
			if err != nil || r.Status == last {
				continue
			}
			last = r.Status
			if !last.Terminal() { // the end event reports the end
				s.events.status(id, last)
			}
		}
	}()
	return func() { cancel(); <-done }
}
