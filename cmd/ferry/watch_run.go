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
	return s.runner.Follow(ctx, s.conn, plan.ID, 0, s.p.Out, stop)
}
