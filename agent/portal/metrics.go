package portal

import (
	"fmt"
	"maps"
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

// metricsFold gathers what the portal shows of a run's metrics, fed one
// record at a time (history.Store.EachMetric), so that a run's records are
// never all in memory: it keeps each numeric series' points (16 bytes a
// record, downsampled when drawn), the first maxTableRows rows of each
// log_row table, and the other kinds as they come.
type metricsFold struct {
	count  int
	names  []string           // numeric scalar series, in first-seen order
	pts    map[string][]Point // x: the step, else the position in its series
	xLabel map[string]string  // "step" when the series' values carry steps
	last   map[string]float64 // each series' last value, in logged order
	view   metricsView        // list charts, tables, images and tags so far
	rows   map[string]*rowsAcc
	order  []string // log_row names, in first-seen order
}

// rowsAcc gathers the log_row rows of one name.
type rowsAcc struct {
	rows  []map[string]any // the first maxTableRows
	cols  map[string]bool
	total int
}

func newMetricsFold() *metricsFold {
	return &metricsFold{pts: map[string][]Point{}, xLabel: map[string]string{},
		last: map[string]float64{}, rows: map[string]*rowsAcc{}}
}

// add folds in one record; it never fails (the error is for EachMetric).
func (f *metricsFold) add(m api.Metric) error {
	f.count++
	switch m.KindOrScalar() {
	case api.MetricScalar:
		if m.Text != "" {
			f.view.Tags = setValue(f.view.Tags, m.Name, m.Text)
			break
		}
		f.addPoint(m)
	case api.MetricList:
		f.view.addList(m)
	case api.MetricRow:
		f.addRow(m)
	case api.MetricTable:
		f.view.Tables = append(f.view.Tables, columnsTable(m.Name, m.Table))
	case api.MetricImage:
		f.view.Images = append(f.view.Images, imageView{Name: m.Name, Path: m.Path, Description: m.Description})
	case api.MetricTag:
		f.view.Tags = setValue(f.view.Tags, m.Name, m.Text)
	}
	return nil
}

func (f *metricsFold) addPoint(m api.Metric) {
	p, seen := f.pts[m.Name]
	if !seen {
		f.names = append(f.names, m.Name)
		f.xLabel[m.Name] = "value #"
		if m.Step != nil {
			f.xLabel[m.Name] = "step"
		}
	}
	x := float64(len(p))
	if m.Step != nil {
		x = float64(*m.Step)
	}
	f.pts[m.Name] = append(p, Point{x, m.Value})
	f.last[m.Name] = m.Value
}

func (f *metricsFold) addRow(m api.Metric) {
	acc, ok := f.rows[m.Name]
	if !ok {
		acc = &rowsAcc{cols: map[string]bool{}}
		f.rows[m.Name] = acc
		f.order = append(f.order, m.Name)
	}
	acc.total++
	for c := range m.Row {
		acc.cols[c] = true
	}
	if len(acc.rows) < maxTableRows {
		acc.rows = append(acc.rows, m.Row)
	}
}

// series returns the numeric series, each sorted by x.
func (f *metricsFold) series() (names []string, pts map[string][]Point) {
	for _, n := range f.names {
		sortByX(f.pts[n])
	}
	return f.names, f.pts
}

// build lays out what was folded in; outputs resolve image paths.
func (f *metricsFold) build(outputs []outputView) metricsView {
	v := metricsView{Count: f.count, Tags: f.view.Tags}
	names, pts := f.series()
	for _, n := range names {
		p := pts[n]
		s := Series{Name: n, Points: Downsample(p, MaxChartPoints), Total: len(p)}
		v.Charts = append(v.Charts, newChart(n, f.xLabel[n], []Series{s}))
	}
	v.Charts = append(v.Charts, f.view.Charts...)
	v.Tables = append(v.Tables, f.view.Tables...)
	for _, n := range f.order {
		acc := f.rows[n]
		v.Tables = append(v.Tables, rowsTable(n, acc.rows, slices.Sorted(maps.Keys(acc.cols)), acc.total))
	}
	for _, img := range f.view.Images {
		v.Images = append(v.Images, imageOf(img, outputs))
	}
	return v
}

// buildMetrics lays out a run's metrics given as a slice.
func buildMetrics(ms []api.Metric, outputs []outputView) metricsView {
	f := newMetricsFold()
	for _, m := range ms {
		f.add(m)
	}
	return f.build(outputs)
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

// rowsTable puts log_row rows of one name together: rows are the first
// of total, cols every column any row had.
func rowsTable(name string, rows []map[string]any, cols []string, total int) tableView {
	t := tableView{Name: name, Total: total, Columns: cols}
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
func imageOf(img imageView, outputs []outputView) imageView {
	for _, o := range outputs {
		if o.Path == img.Path && o.Image {
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

// sortByX sorts points by x, keeping the order of equal x (a stable
// insertion sort is linear on the usual, already sorted input).
func sortByX(p []Point) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j].X < p[j-1].X; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}
