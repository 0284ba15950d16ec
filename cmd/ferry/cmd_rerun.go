package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/internal/ui"
	"github.com/spf13/cobra"
)

type rerunOptions struct {
	Compute string
	Detach  bool
	JSON    bool
}

func newRerunCommand(g *globalOptions) *cobra.Command {
	var opts rerunOptions
	cmd := &cobra.Command{
		Use:   "rerun RUN [--compute NAME] [ARGS...]",
		Short: "Run a past run again: same snapshot, environment and arguments",
		Long: `Start a new run of RUN's snapshot (the source as it was then, not as it is
now), environment spec, script, arguments and environment variables, on
RUN's compute target or, with --compute, on another. ARGS, when given,
replace the script's arguments. The new run records which run it reran
('ferry show' says "rerun of").

The snapshot's content is taken from wherever it is cheapest: a target that
already holds it needs no upload; otherwise from the local files whose
content is unchanged, then from ferry's local content store, then from the
original target. A file none of these has is named in the error.

ferry rerun's flags may come before RUN or right after it; the first other
word after RUN starts ARGS ('--' starts them explicitly, for ARGS that
look like ferry rerun's flags). Output, exit status, Ctrl-C and --detach
work as for 'ferry run'.`,
		Example: `  ferry rerun train-20260105-101500-ab12
  ferry rerun train-2026 --compute gpubox
  ferry rerun train-2026 --epochs 10 --lr 0.01`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("missing RUN: ferry rerun expects RUN [ARGS...]")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			rest, err := opts.takeFlags(args[1:])
			if err != nil {
				return err
			}
			return runRerun(contextOf(cmd), opts, g, append([]string{args[0]}, rest...))
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false) // everything after RUN belongs to the script
	f.StringVar(&opts.Compute, "compute", "", "compute target to run on (default: the run's own)")
	f.BoolVar(&opts.Detach, "detach", false, "return once the run has started")
	f.BoolVar(&opts.JSON, "json", false, "with --detach: print JSON")
	return cmd
}

// takeFlags consumes ferry rerun's own flags at the start of what follows
// RUN, and returns the rest (the script's new arguments).
func (o *rerunOptions) takeFlags(args []string) ([]string, error) {
	for len(args) > 0 {
		a := args[0]
		switch {
		case a == "--":
			return args[1:], nil
		case a == "--detach":
			o.Detach = true
		case a == "--json":
			o.JSON = true
		case strings.HasPrefix(a, "--compute="):
			o.Compute = strings.TrimPrefix(a, "--compute=")
		case a == "--compute":
			if len(args) < 2 {
				return nil, usageError{errors.New("flag needs an argument: --compute")}
			}
			o.Compute, args = args[1], args[1:]
		default:
			return args, nil
		}
		args = args[1:]
	}
	return args, nil
}

func runRerun(ctx context.Context, opts rerunOptions, g *globalOptions, args []string) error {
	start := time.Now()
	p := ui.New(opts.JSON)
	hist, rec, err := openRun(ctx, g, args[0])
	if err != nil {
		return err
	}
	defer hist.Close()
	plan, err := rerunPlan(g, rec, opts, args[1:])
	if err != nil {
		return err
	}
	dial, err := g.dialAsync(ctx, plan.Compute)
	if err != nil {
		return err
	}
	defer dial.close()
	runner, err := g.newRunner(hist, p, runReconnectFor)
	if err != nil {
		return err
	}
	m, err := runner.RerunManifest(ctx, g.dialer(), rec)
	if err != nil {
		return &UserError{Msg: fmt.Sprintf("cannot rerun %s: %v", rec.ID, err), Hint: "run it anew with 'ferry run'"}
	}
	plan.Blobs = runner.RerunBlobs(rec, plan.Compute, g.dialer())
	p.Noticef("ferry: run %s on %s, a rerun of %s (snapshot %s)\n", plan.ID, plan.Compute, rec.ID, m.ID().Short())
	return launchAndFollow(ctx, g, p, runner, dial, plan, m, launchOptions{start: start, detach: opts.Detach, json: opts.JSON})
}

// rerunPlan is the plan of the rerun; args, when any, replace the run's.
func rerunPlan(g *globalOptions, rec history.Record, opts rerunOptions, args []string) (agent.Plan, error) {
	ro := agent.RerunOptions{Compute: opts.Compute}
	if len(args) > 0 {
		ro.Args = args
	}
	plan, err := agent.RerunPlan(rec, ro)
	if errors.Is(err, agent.ErrNotRerunnable) {
		return plan, &UserError{Msg: fmt.Sprintf("cannot rerun %s: it was recorded by an older ferry that did not keep its %s environment's spec", rec.ID, rec.Environment.Kind),
			Hint: "run it anew with 'ferry run'"}
	}
	if err != nil {
		return plan, err
	}
	if _, err := getTarget(g, plan.Compute); err != nil {
		return plan, err
	}
	return plan, nil
}
