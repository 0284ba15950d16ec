package portal

import (
	"fmt"
	"slices"
	"sort"

	"github.com/ferry-ml/ferry/executor/api"
)

// maxTableRows caps the rows a metric table shows.
const maxTableRows = 500

// metricsView is what a run page shows of its metrics, by kind (Azure ML's:
// run.log, log_list, log_row, log_table, log_image, tag).
type metricsView struct {
	Charts []Chart     // scalar series, and lists of numbers
	Tables []tableView // rows, tables, and lists that are not all numbers
	Images []imageView
	Tags   []keyValue // tags, and scalars logged as text (their last value)
	Count  int        // metric records
}

// tableView is a table metric.
type tableView struct {
	Name    string
	Columns []string
	Rows    [][]string
	Total   int // rows before the cap
}

// imageView is an image metric: a file under outputs/.
type imageView struct {
	Name, Path, Description string
	URL                     string // "" when the file is not among the outputs (yet)
}

// seriesOf groups the numeric scalar values by name, in first-seen order.
// A value's x is its step when it has one, else its position in its series.
func seriesOf(ms []api.Metric) (names []string, pts map[string][]Point) {
	pts = make(map[string][]Point)
	for _, m := range ms {
		if m.KindOrScalar() != api.MetricScalar || m.Text != "" {
			continue
		}
		p, seen := pts[m.Name]
		if !seen {
			names = append(names, m.Name)
		}
		x := float64(len(p))
		if m.Step != nil {
			x = float64(*m.Step)
		}
		pts[m.Name] = append(p, Point{x, m.Value})
	}
	for _, n := range names {
		sortByX(pts[n])
	}
	return names, pts
}

// buildMetrics lays out a run's metrics; outputs resolve image paths.
func buildMetrics(ms []api.Metric, outputs []outputView) metricsView {
	v := metricsView{Count: len(ms)}
	names, pts := seriesOf(ms)
	for _, n := range names {
		p := pts[n]
		s := Series{Name: n, Points: Downsample(p, MaxChartPoints), Total: len(p)}
		v.Charts = append(v.Charts, newChart(n, xLabel(ms, n), []Series{s}))
	}
	rows := map[string][]map[string]any{}
	var rowOrder []string
	for _, m := range ms {
		switch m.KindOrScalar() {
		case api.MetricList:
			v.addList(m)
		case api.MetricRow:
			if _, ok := rows[m.Name]; !ok {
				rowOrder = append(rowOrder, m.Name)
			}
			rows[m.Name] = append(rows[m.Name], m.Row)
		case api.MetricTable:
			v.Tables = append(v.Tables, columnsTable(m.Name, m.Table))
		case api.MetricImage:
			v.Images = append(v.Images, imageOf(m, outputs))
		case api.MetricTag:
			v.Tags = setValue(v.Tags, m.Name, m.Text)
		case api.MetricScalar:
			if m.Text != "" {
				v.Tags = setValue(v.Tags, m.Name, m.Text)
			}
		}
	}
	for _, n := range rowOrder {
		v.Tables = append(v.Tables, rowsTable(n, rows[n]))
	}
	return v
}

// addList charts a list of numbers (x: position) and tabulates any other.
func (v *metricsView) addList(m api.Metric) {
	var p []Point
	for i, x := range m.Values {
		f, ok := x.(float64)
		if !ok {
			v.Tables = append(v.Tables, columnsTable(m.Name, map[string][]any{"value": m.Values}))
			return
		}
		p = append(p, Point{float64(i), f})
	}
	s := Series{Name: m.Name, Points: Downsample(p, MaxChartPoints), Total: len(p)}
	v.Charts = append(v.Charts, newChart(m.Name, "index", []Series{s}))
}

// columnsTable turns a log_table's columns into rows.
func columnsTable(name string, cols map[string][]any) tableView {
	t := tableView{Name: name}
	for c, vals := range cols {
		t.Columns = append(t.Columns, c)
		t.Total = max(t.Total, len(vals))
	}
	sort.Strings(t.Columns)
	for i := range min(t.Total, maxTableRows) {
		row := make([]string, len(t.Columns))
		for j, c := range t.Columns {
			if i < len(cols[c]) {
				row[j] = cell(cols[c][i])
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// rowsTable puts log_row rows of one name together.
func rowsTable(name string, rows []map[string]any) tableView {
	t := tableView{Name: name, Total: len(rows)}
	for _, r := range rows {
		for c := range r {
			if !slices.Contains(t.Columns, c) {
				t.Columns = append(t.Columns, c)
			}
		}
	}
	sort.Strings(t.Columns)
	for _, r := range rows[:min(len(rows), maxTableRows)] {
		row := make([]string, len(t.Columns))
		for j, c := range t.Columns {
			if x, ok := r[c]; ok {
				row[j] = cell(x)
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// cell prints a table value; numbers without float noise.
func cell(x any) string {
	if f, ok := x.(float64); ok {
		return fmtNum(f)
	}
	if x == nil {
		return ""
	}
	return fmt.Sprint(x)
}

// imageOf finds an image metric's file among the run's outputs.
func imageOf(m api.Metric, outputs []outputView) imageView {
	img := imageView{Name: m.Name, Path: m.Path, Description: m.Description}
	for _, o := range outputs {
		if o.Path == m.Path && o.Image {
			img.URL = o.URL + "?inline=1"
		}
	}
	return img
}

// setValue sets key in kvs, keeping its first position.
func setValue(kvs []keyValue, key, value string) []keyValue {
	for i := range kvs {
		if kvs[i].Key == key {
			kvs[i].Value = value
			return kvs
		}
	}
	return append(kvs, keyValue{key, value})
}

// xLabel names the x axis: "step" when the series' values carry steps.
func xLabel(ms []api.Metric, name string) string {
	for _, m := range ms {
		if m.Name == name && m.KindOrScalar() == api.MetricScalar {
			if m.Step != nil {
				return "step"
			}
			return "value #"
		}
	}
	return ""
}

// sortByX sorts points by x, keeping the order of equal x (a stable
// insertion sort is linear on the usual, already sorted input).
func sortByX(p []Point) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j].X < p[j-1].X; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}
