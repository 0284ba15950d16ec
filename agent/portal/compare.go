package portal

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/executor/api"
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
	v := compareView{Runs: runs, Charts: overlay(runs), Rows: compareRows(runs)}
	s.page(w, r, "compare.html", "Compare runs", "runs", v)
}

// overlay draws one chart per metric name any run has, with a line per
// run that has it.
func overlay(runs []history.Record) []Chart {
	var order []string
	per := make([]map[string][]Point, len(runs))
	for i, rec := range runs {
		names, pts := seriesOf(rec.Metrics)
		per[i] = pts
		for _, n := range names {
			if !slices.Contains(order, n) {
				order = append(order, n)
			}
		}
	}
	var charts []Chart
	for _, n := range order {
		var series []Series
		for i, rec := range runs {
			if p, ok := per[i][n]; ok {
				series = append(series, Series{Name: rec.ID, Points: Downsample(p, MaxChartPoints), Total: len(p)})
			}
		}
		charts = append(charts, newChart(n, xLabel(runs[0].Metrics, n), series))
	}
	return charts
}

// compareRows lists the runs' parameters side by side.
func compareRows(runs []history.Record) []compareRow {
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
	for _, n := range metricNames(runs) {
		rows = append(rows, newRow("last "+n, runs, func(r history.Record) string { return lastValue(r, n) }))
	}
	return rows
}

func newRow(name string, runs []history.Record, get func(history.Record) string) compareRow {
	row := compareRow{Name: name}
	for _, r := range runs {
		row.Values = append(row.Values, get(r))
	}
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

func metricNames(runs []history.Record) []string {
	var names []string
	for _, r := range runs {
		ns, _ := seriesOf(r.Metrics)
		for _, n := range ns {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

func lastValue(r history.Record, name string) string {
	for i := len(r.Metrics) - 1; i >= 0; i-- {
		m := r.Metrics[i]
		if m.Name == name && m.KindOrScalar() == api.MetricScalar && m.Text == "" {
			return fmtNum(m.Value)
		}
	}
	return ""
}
