package portal

import (
	"math"
	"strconv"
	"strings"
)

// Chart geometry, in SVG user units (the SVG scales to its box).
const (
	chartW, chartH = 640, 260
	padLeft        = 58
	padRight       = 14
	padTop         = 12
	padBottom      = 30
	// maxMarkers: a series this short gets a dot per point, with its value
	// as a tooltip.
	maxMarkers = 200
)

// Series is one line of a chart: a metric of one run.
type Series struct {
	Name   string // the legend: a run id in a comparison, else the metric
	Points []Point
	Total  int // points before downsampling
}

// Chart is a line chart ready for the template.
type Chart struct {
	Title          string
	W, H           int
	Left, Right    float64
	Top, Bottom    float64
	XTicks, YTicks []Tick
	Lines          []Line
	XLabel         string
	YLabelX        float64 // where y tick labels end
	XLabelY        float64 // the baseline of x tick labels
}

// Tick is an axis label at a position in user units.
type Tick struct {
	Pos   float64
	Label string
}

// Line is one drawn series.
type Line struct {
	Name    string
	Class   string // s0..s9: its colour
	Points  string // the polyline's points attribute
	Markers []Marker
	Drawn   int // points drawn
	Total   int // points in the series
}

// Marker is a dot on a short series.
type Marker struct {
	X, Y  float64
	Title string
}

// newChart lays out series on shared axes. Each series should already be
// downsampled.
func newChart(title, xlabel string, series []Series) Chart {
	c := Chart{Title: title, XLabel: xlabel, W: chartW, H: chartH,
		Left: padLeft, Right: chartW - padRight, Top: padTop, Bottom: chartH - padBottom,
		YLabelX: padLeft - 6, XLabelY: chartH - padBottom + 16}
	xmin, xmax, ymin, ymax := bounds(series)
	xt, xs := niceTicks(xmin, xmax, 6)
	yt, ys := niceTicks(ymin, ymax, 5)
	sx := func(x float64) float64 { return round1(c.Left + (x-xs.lo)/(xs.hi-xs.lo)*(c.Right-c.Left)) }
	sy := func(y float64) float64 { return round1(c.Bottom - (y-ys.lo)/(ys.hi-ys.lo)*(c.Bottom-c.Top)) }
	for _, v := range xt {
		c.XTicks = append(c.XTicks, Tick{sx(v), fmtTick(v, xs.step)})
	}
	for _, v := range yt {
		c.YTicks = append(c.YTicks, Tick{sy(v), fmtTick(v, ys.step)})
	}
	for i, s := range series {
		c.Lines = append(c.Lines, drawLine(s, i, sx, sy))
	}
	return c
}

func drawLine(s Series, i int, sx, sy func(float64) float64) Line {
	l := Line{Name: s.Name, Class: "s" + strconv.Itoa(i%10), Drawn: len(s.Points), Total: s.Total}
	var b strings.Builder
	for j, p := range s.Points {
		if j > 0 {
			b.WriteByte(' ')
		}
		x, y := sx(p.X), sy(p.Y)
		b.WriteString(strconv.FormatFloat(x, 'f', 1, 64) + "," + strconv.FormatFloat(y, 'f', 1, 64))
		if len(s.Points) <= maxMarkers {
			l.Markers = append(l.Markers, Marker{x, y, s.Name + ": " + fmtNum(p.X) + " → " + fmtNum(p.Y)})
		}
	}
	l.Points = b.String()
	return l
}

// bounds returns the extent of every point of every series.
func bounds(series []Series) (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, s := range series {
		for _, p := range s.Points {
			xmin, xmax = min(xmin, p.X), max(xmax, p.X)
			ymin, ymax = min(ymin, p.Y), max(ymax, p.Y)
		}
	}
	if math.IsInf(xmin, 1) {
		return 0, 1, 0, 1
	}
	return xmin, xmax, ymin, ymax
}

type span struct{ lo, hi, step float64 }

// niceTicks returns round tick values covering [lo, hi] (about n of them)
// and the axis span they define.
func niceTicks(lo, hi float64, n int) ([]float64, span) {
	if hi == lo {
		d := math.Max(math.Abs(lo)/10, 1)
		lo, hi = lo-d, hi+d
	}
	step := niceStep((hi - lo) / float64(n-1))
	first := math.Floor(lo/step) * step
	last := math.Ceil(hi/step) * step
	var ticks []float64
	for v := first; v <= last+step/2; v += step {
		ticks = append(ticks, math.Round(v/step)*step)
	}
	return ticks, span{first, last, step}
}

// niceStep rounds a raw step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / p; {
	case f <= 1:
		return p
	case f <= 2:
		return 2 * p
	case f <= 5:
		return 5 * p
	}
	return 10 * p
}

// round1 rounds to a tenth of a unit: finer is invisible.
func round1(v float64) float64 { return math.Round(v*10) / 10 }

// fmtNum prints a value with up to 6 significant digits.
func fmtNum(v float64) string {
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// fmtTick prints a tick value with as many decimals as its step needs:
// 0.3 rather than 0.30000000000000004, 1e+06 rather than 1000000.
func fmtTick(v, step float64) string {
	if v == 0 {
		return "0"
	}
	if a := math.Abs(v); a >= 1e6 || a < 1e-3 {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	dec := max(0, int(-math.Floor(math.Log10(step))))
	return strconv.FormatFloat(v, 'f', dec, 64)
}
