package portal

import (
	"math"
	"testing"
)

func TestDownsampleKeepsShortSeries(t *testing.T) {
	pts := line(20)
	if got := Downsample(pts, MaxChartPoints); len(got) != 20 {
		t.Fatalf("20 points became %d", len(got))
	}
}

func TestDownsampleSizeAndEnds(t *testing.T) {
	tests := []struct{ in, n int }{{100000, 1500}, {1501, 1500}, {10, 3}, {7, 5}, {3000, 1000}}
	for _, tt := range tests {
		pts := noisy(tt.in)
		got := Downsample(pts, tt.n)
		if len(got) != tt.n {
			t.Errorf("%d -> %d: got %d points", tt.in, tt.n, len(got))
			continue
		}
		if got[0] != pts[0] || got[len(got)-1] != pts[len(pts)-1] {
			t.Errorf("%d -> %d: first or last point lost", tt.in, tt.n)
		}
		for i := 1; i < len(got); i++ {
			if got[i].X <= got[i-1].X {
				t.Fatalf("%d -> %d: x not increasing at %d: %v then %v", tt.in, tt.n, i, got[i-1], got[i])
			}
		}
	}
}

func TestDownsampleKeepsSpikes(t *testing.T) {
	pts := line(100000)
	pts[31337].Y = 1e6  // one spike up
	pts[77777].Y = -1e6 // and one down
	got := Downsample(pts, 1500)
	var hi, lo bool
	for _, p := range got {
		hi = hi || p.Y == 1e6
		lo = lo || p.Y == -1e6
	}
	if !hi || !lo {
		t.Fatalf("spikes lost: up kept %v, down kept %v", hi, lo)
	}
}

func TestDownsamplePointsComeFromInput(t *testing.T) {
	pts := noisy(5000)
	in := make(map[Point]bool, len(pts))
	for _, p := range pts {
		in[p] = true
	}
	for _, p := range Downsample(pts, 500) {
		if !in[p] {
			t.Fatalf("point %v is not in the input", p)
		}
	}
}

func BenchmarkDownsample100k(b *testing.B) {
	pts := noisy(100000)
	for b.Loop() {
		Downsample(pts, MaxChartPoints)
	}
}

func line(n int) []Point {
	pts := make([]Point, n)
	for i := range pts {
		pts[i] = Point{float64(i), float64(i) / 10}
	}
	return pts
}

func noisy(n int) []Point {
	pts := make([]Point, n)
	for i := range pts {
		x := float64(i)
		pts[i] = Point{x, math.Sin(x/50) + math.Sin(x*7.3)/4}
	}
	return pts
}
