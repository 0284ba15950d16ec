package main

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ferry-ml/ferry/executor/api"
)

// metricLine is one metric (or tag) as ferry show prints it.
type metricLine struct {
	label string // "metric loss", "tag team"
	text  string // "0.25 (scalar series, last of 3)"
}

// metricGroup gathers the records of one name and kind.
type metricGroup struct {
	kind string
	last api.Metric
	n    int
	cols map[string]bool // the columns of log_row rows
}

// metricSummary folds a run's metric records, fed one at a time, into
// one line per name and kind, in first-seen order: a scalar series shows
// its last value and count, a list its length and values, rows and tables
// their columns, an image its file under outputs/, a tag its value. It
// holds one record per group, whatever the number of records.
type metricSummary struct {
	idx    map[string]int
	groups []*metricGroup
	names  []string
}

// add folds in one record.
func (s *metricSummary) add(m api.Metric) error {
	if s.idx == nil {
		s.idx = map[string]int{}
	}
	kind := m.KindOrScalar()
	id := kind + "\x00" + m.Name
	i, ok := s.idx[id]
	if !ok {
		i = len(s.groups)
		s.idx[id] = i
		s.groups = append(s.groups, &metricGroup{kind: kind, cols: map[string]bool{}})
		s.names = append(s.names, m.Name)
	}
	g := s.groups[i]
	g.last, g.n = m, g.n+1
	if kind == api.MetricRow {
		for c := range m.Row {
			g.cols[c] = true
		}
	}
	return nil
}

// lines is what ferry show prints of the records folded in.
func (s *metricSummary) lines() []metricLine {
	out := make([]metricLine, 0, len(s.groups))
	for i, g := range s.groups {
		label := "metric " + s.names[i]
		if g.kind == api.MetricTag {
			label = "tag " + s.names[i]
		}
		out = append(out, metricLine{label: label, text: g.describe()})
	}
	return out
}

// describe is the text of one group.
func (g *metricGroup) describe() string {
	m := g.last
	switch g.kind {
	case api.MetricScalar:
		return fmt.Sprintf("%s (scalar series, last of %d)", scalarText(m), g.n)
	case api.MetricList:
		return fmt.Sprintf("list of %d: %s", len(m.Values), valuesText(m.Values, 8))
	case api.MetricRow:
		return fmt.Sprintf("table of %d rows (log_row): columns %s", g.n, strings.Join(slices.Sorted(maps.Keys(g.cols)), ", "))
	case api.MetricTable:
		cols := make([]string, 0, len(m.Table))
		rows := 0
		for c, v := range m.Table {
			cols = append(cols, c)
			rows = max(rows, len(v))
		}
		sort.Strings(cols)
		return fmt.Sprintf("table of %d rows: columns %s", rows, strings.Join(cols, ", "))
	case api.MetricImage:
		return "image outputs/" + m.Path
	case api.MetricTag:
		return m.Text
	}
	return "(" + g.kind + ")"
}

// scalarText is a scalar's value: its text, or its number.
func scalarText(m api.Metric) string {
	if m.Text != "" {
		return strconv.Quote(m.Text)
	}
	return strconv.FormatFloat(m.Value, 'g', -1, 64)
}

// valuesText prints at most limit values of a list.
func valuesText(vs []any, limit int) string {
	parts := make([]string, 0, min(len(vs), limit)+1)
	for i, v := range vs {
		if i == limit {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, fmt.Sprint(v))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
