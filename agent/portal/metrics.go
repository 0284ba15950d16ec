package portal

import (
	"github.com/ferry-ml/ferry/executor/api"
)

// metricsView is what a run page shows of its metrics.
type metricsView struct {
	Charts []Chart
	Count  int // metric values recorded
}

// seriesOf groups scalar metric values by name, in first-seen order. A
// value's x is its step when it has one, else its position in its series.
func seriesOf(ms []api.Metric) (names []string, pts map[string][]Point) {
	pts = make(map[string][]Point)
	for _, m := range ms {
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

// buildMetrics draws one chart per scalar series.
func buildMetrics(ms []api.Metric) metricsView {
	names, pts := seriesOf(ms)
	v := metricsView{Count: len(ms)}
	for _, n := range names {
		p := pts[n]
		s := Series{Name: n, Points: Downsample(p, MaxChartPoints), Total: len(p)}
		v.Charts = append(v.Charts, newChart(n, xLabel(ms, n), []Series{s}))
	}
	return v
}

// xLabel names the x axis: "step" when the series' values carry steps.
func xLabel(ms []api.Metric, name string) string {
	for _, m := range ms {
		if m.Name == name {
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
