package main

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/agent/history"
	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
)

// registerCompletions teaches shell completion (ferry completion bash|zsh|
// fish|powershell) the run ids of the local history and the names of the
// compute targets: as the first argument of the commands that take one, and
// as the value of --compute wherever it exists.
func registerCompletions(root *cobra.Command) {
	runArg := map[string]bool{"ferry show": true, "ferry logs": true, "ferry cancel": true,
		"ferry download": true, "ferry rerun": true}
	targetArg := map[string]bool{"ferry compute show": true, "ferry compute check": true,
		"ferry compute detach": true}
	walk(root, func(c *cobra.Command) {
		switch {
		case runArg[c.CommandPath()]:
			c.ValidArgsFunction = firstArg(runIDs)
		case targetArg[c.CommandPath()]:
			c.ValidArgsFunction = firstArg(targetNames)
		}
		if c.LocalFlags().Lookup("compute") != nil {
			c.RegisterFlagCompletionFunc("compute", func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
				return complete(targetNames, prefix)
			})
		}
	})
}

// walk calls fn for cmd and every command below it.
func walk(cmd *cobra.Command, fn func(*cobra.Command)) {
	fn(cmd)
	for _, sub := range cmd.Commands() {
		walk(sub, fn)
	}
}

// firstArg completes a command's first argument with list's candidates.
func firstArg(list func() ([]string, error)) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return complete(list, prefix)
	}
}

// complete keeps list's candidates ("value\tdescription") that start with
// prefix.
func complete(list func() ([]string, error), prefix string) ([]string, cobra.ShellCompDirective) {
	all, err := list()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var out []string
	for _, c := range all {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// runIDs lists the local history's newest 200 runs, each described by its
// status and script.
func runIDs() ([]string, error) {
	home, err := ferryHome()
	if err != nil {
		return nil, err
	}
	hist, err := history.Open(filepath.Join(home, "history.db"), hclog.NewNullLogger())
	if err != nil {
		return nil, err
	}
	defer hist.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	recs, err := hist.List(ctx, history.Filter{Limit: 200})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID + "\t" + string(r.Status) + " " + r.Script
	}
	return out, nil
}

// targetNames lists the compute targets, each described by its type.
func targetNames() ([]string, error) {
	home, err := ferryHome()
	if err != nil {
		return nil, err
	}
	targets, err := compute.Open(home).List()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(targets))
	for i, t := range targets {
		out[i] = t.Name + "\t" + t.Type
	}
	return out, nil
}
