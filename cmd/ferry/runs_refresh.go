package main

import (
	"context"
	"sync"
	"time"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/internal/ui"
)

// refreshTimeout bounds how long ferry runs --refresh spends on one target.
const refreshTimeout = 20 * time.Second

// refreshAll brings the records of unfinished runs in recs up to date from
// their targets (a run whose ferry process went away stays Running in the
// history until asked): one connection per target, the targets side by
// side. Runs that ended get their outputs collected. A target that cannot
// be reached keeps its records as they were, with a warning.
func refreshAll(ctx context.Context, g *globalOptions, hist *history.Store, p *ui.Printer, recs []history.Record) {
	byCompute := make(map[string][]int)
	for i, r := range recs {
		if !r.Status.Terminal() {
			byCompute[r.Compute] = append(byCompute[r.Compute], i)
		}
	}
	var wg sync.WaitGroup
	for name, idx := range byCompute {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, refreshTimeout)
			defer cancel()
			refreshTarget(cctx, g, hist, p, name, recs, idx)
		})
	}
	wg.Wait()
}

// refreshTarget refreshes recs[i] for each i in idx, all runs of compute
// target name; each goroutine writes only its own elements of recs.
func refreshTarget(ctx context.Context, g *globalOptions, hist *history.Store, p *ui.Printer, name string, recs []history.Record, idx []int) {
	conn, err := g.connect(ctx, name)
	if err != nil {
		p.Noticef("ferry: warning: cannot reach %s to refresh %d unfinished run(s); shown as last known: %v\n", name, len(idx), err)
		return
	}
	defer conn.Close()
	for _, i := range idx {
		fresh, err := updateRecord(ctx, g, conn, hist, recs[i])
		if err != nil {
			g.logger.Warn("cannot refresh run", "run_id", recs[i].ID, "error", err)
			continue
		}
		recs[i] = fresh
	}
}
