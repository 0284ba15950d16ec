package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/ui"
	"github.com/spf13/cobra"
)

type runsOptions struct {
	Experiment string
	Compute    string
	Status     string
	Limit      int
	JSON       bool
	Refresh    bool
	NoRefresh  bool
}

// quickRefresh bounds how long ferry runs waits for each target of an
// unfinished run before it lists that run as last seen, marked stale.
const quickRefresh = 3 * time.Second

func newRunsCommand(g *globalOptions) *cobra.Command {
	var opts runsOptions
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List runs, newest first (from the local history: instant, no connection)",
		Long: `List runs from the local history, newest first. Finished runs come from
the history alone; the targets of unfinished ones (a run left with --detach,
or whose ferry process went away) are asked for their status first, for at
most 3 s each, one connection per target, and what they say is recorded,
outputs included. A run whose target did not answer in time is listed as
last seen, its status marked with '?' (JSON: "stale": true). --refresh waits
up to 20 s per target; --no-refresh makes no connection at all.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRuns(contextOf(cmd), opts, g)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Experiment, "experiment", "", "only this experiment")
	f.StringVar(&opts.Compute, "compute", "", "only this compute target")
	f.StringVar(&opts.Status, "status", "", "only this status (Running, Completed, Failed, ...)")
	f.IntVar(&opts.Limit, "limit", 50, "at most this many runs (0: all)")
	f.BoolVar(&opts.JSON, "json", false, "print a JSON array")
	f.BoolVar(&opts.Refresh, "refresh", false, "wait up to 20 s per target for unfinished runs' status (default 3 s)")
	f.BoolVar(&opts.NoRefresh, "no-refresh", false, "ask no target: list unfinished runs as last seen")
	cmd.AddCommand(newRunsPruneCommand(g))
	return cmd
}

func runRuns(ctx context.Context, opts runsOptions, g *globalOptions) error {
	filter, err := opts.filter()
	if err != nil {
		return err
	}
	hist, err := openHistory(g)
	if err != nil {
		return err
	}
	defer hist.Close()
	recs, err := hist.List(ctx, filter)
	if err != nil {
		return err
	}
	p := ui.New(opts.JSON)
	stale, err := opts.refresh(ctx, g, hist, p, recs)
	if err != nil {
		return err
	}
	if opts.JSON {
		return printRunsJSON(p, recs, stale)
	}
	if len(recs) == 0 {
		return noRuns(ctx, hist, p, opts)
	}
	tw := tabwriter.NewWriter(p.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTATUS\tEXIT\tCOMPUTE\tEXPERIMENT\tCREATED\tDURATION\tSCRIPT")
	for _, r := range recs {
		st, took := string(r.Status), duration(r)
		if isStale(r, stale) {
			st, took = st+"?", took+"?"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, st, exitStr(r.ExitCode), r.Compute,
			r.Experiment, r.CreatedAt.Local().Format("2006-01-02 15:04:05"), took, r.Script)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(stale) > 0 {
		p.Noticef("ferry: ? = as last seen: %s did not answer (ferry runs --refresh waits longer)\n", strings.Join(sortedKeys(stale), ", "))
	}
	return nil
}

// refresh asks the targets of the unfinished runs in recs for their status
// (see the command's help) and returns the targets that did not answer.
func (opts runsOptions) refresh(ctx context.Context, g *globalOptions, hist *history.Store, p *ui.Printer, recs []history.Record) (map[string]bool, error) {
	if opts.NoRefresh {
		stale := map[string]bool{}
		for _, r := range recs {
			if !r.Status.Terminal() {
				stale[r.Compute] = true
			}
		}
		return stale, nil
	}
	timeout := quickRefresh
	if opts.Refresh {
		timeout = agent.RefreshTimeout
	}
	return refreshAll(ctx, g, hist, p, recs, timeout)
}

// isStale reports whether r is listed as last seen.
func isStale(r history.Record, stale map[string]bool) bool {
	return !r.Status.Terminal() && stale[r.Compute]
}

// printRunsJSON prints the records as a JSON array, each unfinished one
// whose target did not answer with "stale": true.
func printRunsJSON(p *ui.Printer, recs []history.Record, stale map[string]bool) error {
	out := make([]any, len(recs))
	for i, r := range recs {
		out[i] = r
		if !isStale(r, stale) {
			continue
		}
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("encode run %s: %w", r.ID, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("encode run %s: %w", r.ID, err)
		}
		m["stale"] = true
		out[i] = m
	}
	return p.PrintJSON(out)
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// filter checks the options and returns the history filter they ask for.
func (opts runsOptions) filter() (history.Filter, error) {
	f := history.Filter{Experiment: opts.Experiment, Compute: opts.Compute, Limit: opts.Limit}
	if opts.Status != "" {
		st, ok := api.ParseStatus(opts.Status)
		if !ok {
			return f, usageError{fmt.Errorf("--status %q: want one of %s", opts.Status, statusWords())}
		}
		f.Status = st
	}
	return f, nil
}

// statusWords is "Queued, Preparing, ..., Canceled".
func statusWords() string {
	w := make([]string, len(api.Statuses))
	for i, st := range api.Statuses {
		w[i] = string(st)
	}
	return strings.Join(w, ", ")
}

// noRuns says why ferry runs listed nothing: an empty history, or filters
// that matched none of the runs it holds.
func noRuns(ctx context.Context, hist *history.Store, p *ui.Printer, opts runsOptions) error {
	n, err := hist.Count(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		p.Noticef("no runs yet: start one with 'ferry run SCRIPT'\n")
		return nil
	}
	var by []string
	for _, f := range []struct{ flag, val string }{{"--experiment", opts.Experiment},
		{"--compute", opts.Compute}, {"--status", opts.Status}} {
		if f.val != "" {
			by = append(by, f.flag+" "+f.val)
		}
	}
	p.Noticef("no runs match %s (%d in the history; 'ferry runs' lists them)\n", strings.Join(by, " "), n)
	return nil
}

// countFiles is "1 file" or "n files".
func countFiles(n int) string {
	if n == 1 {
		return "1 file"
	}
	return fmt.Sprintf("%d files", n)
}

func exitStr(c *int) string {
	if c == nil {
		return "-"
	}
	return fmt.Sprint(*c)
}

func duration(r history.Record) string {
	if r.StartedAt == nil {
		return "-"
	}
	end := time.Now()
	if r.EndedAt != nil {
		end = *r.EndedAt
	}
	d := end.Sub(*r.StartedAt)
	if d < time.Minute {
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// openRun opens the history and finds a run in it; the caller closes the
// history.
func openRun(ctx context.Context, g *globalOptions, id string) (*history.Store, history.Record, error) {
	hist, err := openHistory(g)
	if err != nil {
		return nil, history.Record{}, err
	}
	rec, err := loadRun(ctx, hist, id)
	if err != nil {
		hist.Close()
		return nil, rec, err
	}
	return hist, rec, nil
}

// loadRun finds a run in the history by id or unique prefix.
func loadRun(ctx context.Context, hist *history.Store, id string) (history.Record, error) {
	r, err := hist.Get(ctx, id)
	var amb *history.AmbiguousError
	switch {
	case errors.Is(err, history.ErrNotFound) && len(id) < history.MinPrefix:
		return r, &UserError{Msg: fmt.Sprintf("no run %q in the history", id),
			Hint: fmt.Sprintf("a shortened run id needs at least %d characters; 'ferry runs' lists runs", history.MinPrefix)}
	case errors.Is(err, history.ErrNotFound):
		return r, &UserError{Msg: fmt.Sprintf("no run %q in the history", id), Hint: "'ferry runs' lists runs"}
	case errors.As(err, &amb):
		return r, &UserError{Msg: err.Error(), Hint: "give more characters of the run id"}
	}
	return r, err
}

// openRunConn is openRun with a connection to the run's target; the caller
// closes both.
func openRunConn(ctx context.Context, g *globalOptions, id string) (*history.Store, history.Record, *agent.Conn, error) {
	hist, rec, err := openRun(ctx, g, id)
	if err != nil {
		return nil, rec, nil, err
	}
	conn, err := g.connect(ctx, rec.Compute)
	if err != nil {
		hist.Close()
		return nil, rec, nil, err
	}
	return hist, rec, conn, nil
}

// refresh updates a non-terminal record from its executor, when reachable.
func refresh(ctx context.Context, g *globalOptions, hist *history.Store, rec history.Record) (history.Record, *agent.Conn) {
	if rec.Status.Terminal() && rec.Outputs != nil {
		return rec, nil
	}
	runner, err := g.newRunner(hist, ui.New(false), 0)
	if err != nil {
		g.logger.Warn("cannot refresh run", "run_id", rec.ID, "error", err)
		return rec, nil
	}
	conn, err := g.connect(ctx, rec.Compute)
	if err != nil {
		g.logger.Warn("cannot reach compute target to refresh the run", "compute", rec.Compute, "error", err)
		return rec, nil
	}
	if fresh, err := runner.Refresh(ctx, conn, rec); err == nil {
		rec = fresh
	} else {
		g.logger.Warn("cannot refresh run", "run_id", rec.ID, "error", err)
	}
	return rec, conn
}

func newShowCommand(g *globalOptions) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "show RUN",
		Short: "Show a run: status, exit code, compute, environment, snapshot, git, metrics, timings",
		Args:  exactArgs(1, "RUN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := contextOf(cmd)
			hist, rec, err := openRun(ctx, g, args[0])
			if err != nil {
				return err
			}
			defer hist.Close()
			rec, conn := refresh(ctx, g, hist, rec)
			if conn != nil {
				conn.Close()
			}
			p := ui.New(jsonOut)
			if jsonOut {
				return hist.WriteShowJSON(ctx, p.Out, rec)
			}
			var ms metricSummary
			if err := hist.EachMetric(ctx, rec.ID, ms.add); err != nil {
				return err
			}
			printRecord(p, rec, ms.lines())
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

// printRecord prints r, with metrics, the lines of its metricSummary.
func printRecord(p *ui.Printer, r history.Record, metrics []metricLine) {
	tw := tabwriter.NewWriter(p.Out, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("run", r.ID)
	row("status", string(r.Status)+reasonStr(r))
	row("exit code", exitStr(r.ExitCode))
	row("compute", r.Compute)
	row("experiment", r.Experiment)
	if r.RerunOf != "" {
		row("rerun of", r.RerunOf)
	}
	row("script", strings.TrimSpace(r.Script+" "+quoteArgs(r.Args)))
	row("environment", r.Environment.Kind+" ("+r.Environment.Python+")")
	row("snapshot", r.Snapshot)
	if r.Git != nil {
		dirty := ""
		if r.Git.Dirty {
			dirty = " (dirty)"
		}
		row("git", strings.TrimSpace(fmt.Sprintf("%s %s @ %s%s", r.Git.Repository, orDefault(r.Git.Branch, "(detached)"), r.Git.Commit, dirty)))
	}
	row("created", r.CreatedAt.Local().Format(time.RFC3339))
	if r.StartedAt != nil {
		row("started", r.StartedAt.Local().Format(time.RFC3339))
	}
	if r.EndedAt != nil {
		row("ended", r.EndedAt.Local().Format(time.RFC3339)+" (took "+duration(r)+")")
	}
	for _, m := range metrics {
		row(m.label, m.text)
	}
	if len(r.Outputs) > 0 {
		row("outputs", fmt.Sprintf("%s (ferry download %s)", countFiles(len(r.Outputs)), r.ID))
	}
	tw.Flush()
}

func reasonStr(r history.Record) string {
	return statusReason(r.Status, r.Reason)
}

// statusReason is ": reason" (its first line) when the reason says more
// than the status.
func statusReason(st api.Status, reason string) string {
	if reason == "" || st == api.StatusCompleted || strings.EqualFold(reason, string(st)) {
		return ""
	}
	// A failed build's reason carries the tool's output tail on the
	// lines after the first; the run's log has shown it already.
	line, _, _ := strings.Cut(reason, "\n")
	return ": " + line
}
