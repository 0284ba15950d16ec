package portal

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ferry-ml/ferry/agent/history"
)

// Bounds on how many runs a comparison takes.
const (
	minCompare = 2
	maxCompare = 10
)

// compareView is the comparison page.
type compareView struct {
	Runs   []history.Record
	Charts []Chart
	Rows   []compareRow
}

// compareRow is one parameter of every run; Differs marks rows whose
// values are not all the same.
type compareRow struct {
	Name    string
	Values  []string
	Differs bool
}

func (s *Server) handleCompare(w http.ResponseWriter, r *http.Request) {
	ids := slices.Compact(r.URL.Query()["run"])
	if len(ids) < minCompare || len(ids) > maxCompare {
		s.fail(w, http.StatusBadRequest, fmt.Sprintf("Compare takes %d to %d runs; %d were chosen. Tick them in the runs table.", minCompare, maxCompare, len(ids)))
		return
	}
	var runs []history.Record
	for _, id := range ids {
		rec, err := s.cfg.History.Get(r.Context(), id)
		if err != nil {
			s.fail(w, http.StatusNotFound, err.Error())
			return
		}
		runs = append(runs, rec)
	}
	folds := make([]*metricsFold, len(runs))
	for i, rec := range runs {
		folds[i] = s.metricsOf(r.Context(), rec.ID)
	}
	v := compareView{Runs: runs, Charts: overlay(runs, folds), Rows: compareRows(runs, folds)}
	s.page(w, r, "compare.html", "Compare runs", "runs", v)
}

// overlay draws one chart per metric name any run has, with a line per
// run that has it; folds[i] holds the metrics of runs[i].
func overlay(runs []history.Record, folds []*metricsFold) []Chart {
	var charts []Chart
	for _, n := range metricNames(folds) {
		var series []Series
		label := ""
		for i, rec := range runs {
			_, pts := folds[i].series()
			if p, ok := pts[n]; ok {
				series = append(series, Series{Name: rec.ID, Points: Downsample(p, MaxChartPoints), Total: len(p)})
				label = cmp.Or(label, folds[i].xLabel[n])
			}
		}
		charts = append(charts, newChart(n, label, series))
	}
	return charts
}

// compareRows lists the runs' parameters side by side.
func compareRows(runs []history.Record, folds []*metricsFold) []compareRow {
	fields := []struct {
		name string
		get  func(history.Record) string
	}{
		{"status", func(r history.Record) string { return string(r.Status) }},
		{"compute", func(r history.Record) string { return r.Compute }},
		{"experiment", func(r history.Record) string { return r.Experiment }},
		{"script", func(r history.Record) string { return r.Script }},
		{"arguments", func(r history.Record) string { return strings.Join(r.Args, " ") }},
		{"environment", func(r history.Record) string { return r.Environment.Kind }},
		{"environment key", func(r history.Record) string { return shortHash(r.Environment.Key) }},
		{"snapshot", func(r history.Record) string { return shortHash(r.Snapshot) }},
		{"git commit", gitCommit},
		{"duration", took},
	}
	var rows []compareRow
	for _, f := range fields {
		rows = append(rows, newRow(f.name, runs, f.get))
	}
	for _, k := range envKeys(runs) {
		rows = append(rows, newRow("env "+k, runs, func(r history.Record) string { return r.RedactedEnv()[k] }))
	}
	for _, n := range metricNames(folds) {
		last := compareRow{Name: "last " + n}
		for _, f := range folds {
			last.Values = append(last.Values, lastValue(f, n))
		}
		rows = append(rows, finishRow(last))
	}
	return rows
}

func newRow(name string, runs []history.Record, get func(history.Record) string) compareRow {
	row := compareRow{Name: name}
	for _, r := range runs {
		row.Values = append(row.Values, get(r))
	}
	return finishRow(row)
}

// finishRow marks missing values and whether the values differ.
func finishRow(row compareRow) compareRow {
	for i, v := range row.Values {
		if v == "" {
			row.Values[i] = "–"
		}
	}
	for _, v := range row.Values[1:] {
		row.Differs = row.Differs || v != row.Values[0]
	}
	return row
}

func gitCommit(r history.Record) string {
	if r.Git == nil {
		return ""
	}
	c := shortHash(r.Git.Commit)
	if r.Git.Dirty {
		c += " (dirty)"
	}
	return c
}

func envKeys(runs []history.Record) []string {
	var keys []string
	for _, r := range runs {
		for k := range r.Env {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// metricNames lists the numeric series of every run, in first-seen order.
func metricNames(folds []*metricsFold) []string {
	var names []string
	for _, f := range folds {
		for _, n := range f.names {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

// lastValue is the last value logged of series name, "" when none.
func lastValue(f *metricsFold, name string) string {
	v, ok := f.last[name]
	if !ok {
		return ""
	}
	return fmtNum(v)
}
