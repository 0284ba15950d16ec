package agent

import (
	"context"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
)

// startPoll is how often AwaitStart asks the executor.
const startPoll = 50 * time.Millisecond

// AwaitStart asks the executor about run until its script has started or
// the run has ended, for at most timeout, records the last answer in the
// history and returns it: a detached run is then reported as it is, not
// as the Queued it was when submitted. A run still preparing its
// environment when timeout passes is returned as such.
func (r *Runner) AwaitStart(ctx context.Context, remote Runs, run api.Run, timeout time.Duration) api.Run {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(startPoll)
	defer tick.Stop()
	for run.Status == api.StatusQueued || run.Status == api.StatusPreparing {
		select {
		case <-ctx.Done():
			return r.recordSeen(context.WithoutCancel(ctx), remote, run)
		case <-tick.C:
		}
		fresh, err := remote.Run(ctx, run.Spec.ID)
		if err != nil {
			r.logger().Debug("ask run status", "run_id", run.Spec.ID, "error", err)
			continue
		}
		run = fresh
	}
	return r.recordSeen(context.WithoutCancel(ctx), remote, run)
}

// recordSeen records run's status in the history, when there is one, and
// the metrics of a run seen ended already (nothing follows it to its end).
func (r *Runner) recordSeen(ctx context.Context, remote Runs, run api.Run) api.Run {
	if r.History != nil {
		if err := r.History.ApplyRun(ctx, run); err != nil {
			r.logger().Warn("cannot record run status", "run_id", run.Spec.ID, "error", err)
		}
		if run.Status.Terminal() {
			if err := r.keepMetrics(ctx, remote, run.Spec.ID); err != nil {
				r.logger().Warn("cannot keep the run's metrics locally", "run_id", run.Spec.ID, "error", err)
			}
		}
	}
	return run
}
