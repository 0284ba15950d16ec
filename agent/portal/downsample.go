package portal

import "math"

// MaxChartPoints is how many points of one series a chart draws at most.
// Longer series are downsampled on the server, so a 100k-step loss curve
// costs the browser what 1,500 points cost.
const MaxChartPoints = 1500

// Point is one sample of a series.
type Point struct{ X, Y float64 }

// Downsample returns at most n points of pts (sorted by X) chosen with
// Largest-Triangle-Three-Buckets (Steinarsson, 2013): the first and last
// points are kept, the rest is cut into n-2 buckets, and from each the
// point forming the largest triangle with the point kept before it and the
// mean of the next bucket. Spikes survive, which an average or a stride
// would lose. pts is returned as is when it is short enough.
func Downsample(pts []Point, n int) []Point {
	if n >= len(pts) || n < 3 {
		return pts
	}
	out := make([]Point, 0, n)
	out = append(out, pts[0])
	size := float64(len(pts)-2) / float64(n-2)
	prev := 0
	for b := range n - 2 {
		lo, hi := bucket(b, size, len(pts))
		next := nextMean(pts, b+1, size, n)
		best := largestTriangle(pts[prev], next, pts, lo, hi)
		out = append(out, pts[best])
		prev = best
	}
	return append(out, pts[len(pts)-1])
}

// bucket returns the index range [lo, hi) of bucket b (the first and last
// points are outside every bucket).
func bucket(b int, size float64, total int) (int, int) {
	lo := int(math.Floor(float64(b)*size)) + 1
	hi := int(math.Floor(float64(b+1)*size)) + 1
	return lo, min(hi, total-1)
}

// nextMean is the mean of bucket b, or the last point when b is past the
// last bucket.
func nextMean(pts []Point, b int, size float64, n int) Point {
	if b >= n-2 {
		return pts[len(pts)-1]
	}
	lo, hi := bucket(b, size, len(pts))
	var m Point
	for _, p := range pts[lo:hi] {
		m.X += p.X
		m.Y += p.Y
	}
	k := float64(hi - lo)
	return Point{m.X / k, m.Y / k}
}

// largestTriangle returns the index in [lo, hi) of the point making the
// largest triangle with a and c.
func largestTriangle(a, c Point, pts []Point, lo, hi int) int {
	best, bestArea := lo, -1.0
	for i := lo; i < hi; i++ {
		p := pts[i]
		area := math.Abs((a.X-c.X)*(p.Y-a.Y) - (a.X-p.X)*(c.Y-a.Y))
		if area > bestArea {
			best, bestArea = i, area
		}
	}
	return best
}
