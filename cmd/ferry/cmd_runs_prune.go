package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferry-ml/ferry/internal/ui"
	"github.com/spf13/cobra"
)

type runsPruneOptions struct {
	Compute string
	Keep    int
	DryRun  bool
	JSON    bool
}

func newRunsPruneCommand(g *globalOptions) *cobra.Command {
	var opts runsPruneOptions
	cmd := &cobra.Command{
		Use:   "prune --keep N [--compute NAME]",
		Short: "Delete the directories of ended runs from a compute target, keeping the newest N",
		Long: `Delete from the compute target the directories of its ended runs (the tree
of the snapshot each run worked in, its log, metrics and outputs/), all
but the newest --keep N. Where the executor runs as root every run's tree
is a full copy, so these directories are what fills a target's disk.

A run's directory is deleted only once this machine's history holds
everything the target has of it: its end, its log, its metrics and every
file of its outputs/ (checked against the target's list). The history
keeps the run: 'ferry runs', 'ferry logs', 'ferry show' and 'ferry
download' work as before, and 'ferry rerun' too (snapshots stay on the
target). Runs still going, runs this history does not know (started from
another machine) and runs with anything only on the target stay; ferry
says which and why. ferry watch does this for its own runs (--keep-runs).`,
		Example: `  ferry runs prune --compute myvm --keep 10
  ferry runs prune --keep 0 --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("keep") || opts.Keep < 0 {
				return usageError{errors.New("ferry runs prune needs --keep N (N >= 0): how many of the newest ended runs stay on the target")}
			}
			return runRunsPrune(contextOf(cmd), opts, g)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Compute, "compute", envOr("FERRY_COMPUTE", "local"), "compute target (env FERRY_COMPUTE)")
	f.IntVar(&opts.Keep, "keep", 0, "keep the directories of this many of the newest ended runs")
	f.BoolVar(&opts.DryRun, "dry-run", false, "say what would be deleted, delete nothing")
	f.BoolVar(&opts.JSON, "json", false, `print JSON: {"removed": [ids], "kept": [{"id", "why"}]}`)
	return cmd
}

func runRunsPrune(ctx context.Context, opts runsPruneOptions, g *globalOptions) error {
	hist, err := openHistory(g)
	if err != nil {
		return err
	}
	defer hist.Close()
	p := ui.New(opts.JSON)
	runner, err := g.newRunner(hist, p, 0)
	if err != nil {
		return err
	}
	conn, err := g.connect(ctx, opts.Compute)
	if err != nil {
		return err
	}
	defer conn.Close()
	res, err := runner.PruneRuns(ctx, conn, opts.Keep, opts.DryRun)
	if opts.JSON && err == nil {
		return p.PrintJSON(res)
	}
	verb := "removed"
	if opts.DryRun {
		verb = "would remove"
	}
	for _, id := range res.Removed {
		p.Printf("%s %s\n", verb, id)
	}
	for _, k := range res.Kept {
		p.Printf("kept %s: %s\n", k.ID, k.Why)
	}
	if err != nil {
		return fmt.Errorf("prune runs on %s: %w", opts.Compute, err)
	}
	p.Printf("%s: %s %s; %d more kept beyond the newest %d\n", opts.Compute, verb, plural(len(res.Removed), "run directory", "run directories"), len(res.Kept), opts.Keep)
	return nil
}

// plural is "1 thing" or "N things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
