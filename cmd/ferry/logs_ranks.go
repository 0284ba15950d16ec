package main

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// runRankLogs prints one rank's log of a multi-process run, or every
// rank's merged line by line, from the target.
func runRankLogs(ctx context.Context, g *globalOptions, id string, opts logsOptions) error {
	if opts.AllRanks && opts.Rank >= 0 {
		return usageError{errors.New("--rank and --all-ranks exclude each other")}
	}
	if opts.JSON {
		return usageError{errors.New("--json does not combine with --rank or --all-ranks")}
	}
	hist, rec, err := openRun(ctx, g, id)
	if err != nil {
		return err
	}
	defer hist.Close()
	conn, err := g.connect(ctx, rec.Compute)
	if err != nil {
		return err
	}
	defer conn.Close()
	n, err := conn.Ranks(ctx, rec.ID)
	if err != nil {
		return err
	}
	if opts.AllRanks {
		return conn.MergeRankLogs(ctx, rec.ID, n, opts.Follow, os.Stdout)
	}
	if opts.Rank >= n {
		return usageError{fmt.Errorf("--rank %d: run %s has ranks 0 to %d", opts.Rank, rec.ID, n-1)}
	}
	return conn.CopyRankLog(ctx, rec.ID, opts.Rank, opts.Follow, os.Stdout)
}
