package watch

import (
	"testing"
	"time"
)

func TestDebouncer(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name   string
		events []int // event times, ms after t0
		checks []int // times Fire is called, ms after t0
		want   []bool
	}{
		{"nothing pending", nil, []int{0, 500}, []bool{false, false}},
		{"single event fires after quiet", []int{0}, []int{99, 100, 101}, []bool{false, true, false}},
		{"vim burst is one firing", []int{0, 1, 2, 3, 5, 8, 9, 12}, []int{100, 111, 112}, []bool{false, false, true}},
		{"gap shorter than quiet extends", []int{0, 90}, []int{100, 189, 190}, []bool{false, false, true}},
		{"max wait caps a stream", []int{0, 80, 160, 240, 320, 400, 480, 560, 640, 720, 800, 880, 960}, []int{999, 1000}, []bool{false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Unix(1000, 0)
			d := Debouncer{Quiet: ms(100), MaxWait: ms(1000)}
			for _, e := range tt.events {
				d.Add(t0.Add(ms(e)))
			}
			for i, c := range tt.checks {
				if got := d.Fire(t0.Add(ms(c))); got != tt.want[i] {
					t.Errorf("Fire at %d ms = %v, want %v", c, got, tt.want[i])
				}
			}
		})
	}
}

func TestDebouncerStartsOverAfterFiring(t *testing.T) {
	t0 := time.Unix(1000, 0)
	d := Debouncer{Quiet: 100 * time.Millisecond, MaxWait: time.Second}
	d.Add(t0)
	if !d.Fire(t0.Add(100 * time.Millisecond)) {
		t.Fatal("first burst did not fire")
	}
	d.Add(t0.Add(2 * time.Second))
	at, ok := d.Due()
	if !ok || !at.Equal(t0.Add(2100*time.Millisecond)) {
		t.Fatalf("Due = %v, %v; want 2.1 s after t0", at, ok)
	}
}
