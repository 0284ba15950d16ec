package agent

import (
	"context"
	"sync"
	"time"

	"github.com/ferry-ml/ferry/agent/history"
)

// RefreshTimeout bounds how long RefreshAll spends on one target, unless
// Runner.RefreshTimeout says otherwise.
const RefreshTimeout = 20 * time.Second

// RefreshAll brings the records of unfinished runs in recs up to date from
// their targets, in place (a run whose ferry process went away stays
// Running in the history until asked): one connection per target, the
// targets side by side. Runs that ended get their outputs collected. A
// target that cannot be reached keeps its records as they were, and
// unreachable (if not nil; called from several goroutines at once) is
// told how many.
func (r *Runner) RefreshAll(ctx context.Context, dial Dialer, recs []history.Record, unreachable func(compute string, runs int, err error)) {
	byCompute := make(map[string][]int)
	for i, rec := range recs {
		if !rec.Status.Terminal() {
			byCompute[rec.Compute] = append(byCompute[rec.Compute], i)
		}
	}
	var wg sync.WaitGroup
	for name, idx := range byCompute {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, r.refreshTimeout())
			defer cancel()
			if err := r.refreshTarget(cctx, dial, name, recs, idx); err != nil && unreachable != nil {
				unreachable(name, len(idx), err)
			}
		})
	}
	wg.Wait()
}

// refreshTarget refreshes recs[i] for each i in idx, all runs of compute
// target name; each goroutine writes only its own elements of recs. It
// returns only a failure to connect.
func (r *Runner) refreshTarget(ctx context.Context, dial Dialer, name string, recs []history.Record, idx []int) error {
	remote, err := dial(ctx, name)
	if err != nil {
		return err
	}
	defer remote.Close()
	for _, i := range idx {
		fresh, err := r.Refresh(ctx, remote, recs[i])
		if err != nil {
			r.logger().Warn("cannot refresh run", "run_id", recs[i].ID, "error", err)
			continue
		}
		recs[i] = fresh
	}
	return nil
}

func (r *Runner) refreshTimeout() time.Duration {
	if r.RefreshTimeout > 0 {
		return r.RefreshTimeout
	}
	return RefreshTimeout
}
