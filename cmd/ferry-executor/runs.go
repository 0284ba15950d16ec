package main

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-ml/ferry/executor"
	"github.com/ferry-ml/ferry/executor/runner"
)

// runsHandler returns the builder of the daemon's /v1/runs handler: a
// runner that materialises snapshots from the daemon's store, starts this
// executable as the per-run shim, and re-adopts the runs still going.
// busy is set to the runner's Busy.
func runsHandler(ctx context.Context, stateDir string, logger hclog.Logger, busy *func() bool) func(*executor.Store) (http.Handler, func() error, error) {
	return func(store *executor.Store) (http.Handler, func() error, error) {
		exe, err := os.Executable()
		if err != nil {
			return nil, nil, fmt.Errorf("find own executable: %w", err)
		}
		r, err := runner.New(runner.Config{StateDir: stateDir, Materializer: store, Recycler: store, Logger: logger, ShimPath: exe})
		if err != nil {
			return nil, nil, err
		}
		if err := r.Recover(ctx); err != nil {
			return nil, nil, errorsJoin(err, r.Close())
		}
		*busy = r.Busy
		return r.Handler(), r.Close, nil
	}
}

func errorsJoin(a, b error) error {
	if b == nil {
		return a
	}
	return fmt.Errorf("%w (closing runner: %w)", a, b)
}
