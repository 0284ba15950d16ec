package main

import (
	"context"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/internal/ui"
)

// portalRerun is the portal's rerun button: agent.Runner.StartRerun, quiet
// (no progress lines), with each rerun followed to its end in the
// background for as long as serve (the portal's lifetime) lasts.
func (g *globalOptions) portalRerun(serve context.Context, hist *history.Store) func(context.Context, history.Record, string) (string, error) {
	return func(_ context.Context, rec history.Record, compute string) (string, error) {
		runner, err := g.newRunner(hist, ui.New(false), runReconnectFor)
		if err != nil {
			return "", err
		}
		runner.Hooks = agent.Hooks{}
		plan, _, err := runner.StartRerun(serve, g.dialer(), rec, agent.RerunOptions{Compute: compute})
		if err != nil {
			return "", err
		}
		return plan.ID, nil
	}
}
