package watch

import (
	"slices"
	"testing"
)

func TestRetentionKeepsTheNewest(t *testing.T) {
	r := NewRetention(2)
	var removed []string
	for _, step := range []struct {
		id   string
		kept bool
	}{{"a", true}, {"b", true}, {"skipped", false}, {"c", true}, {"d", true}, {"e", true}} {
		removed = append(removed, r.Ended(step.id, step.kept)...)
	}
	// "skipped" left outputs on the target: never named.
	if want := []string{"a", "b", "c"}; !slices.Equal(removed, want) {
		t.Fatalf("removed %v, want %v", removed, want)
	}
}

func TestRetentionZeroRemovesEachKeptRun(t *testing.T) {
	r := NewRetention(0)
	if got := r.Ended("a", true); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("keep 0: got %v, want [a]", got)
	}
	if got := r.Ended("b", false); got != nil {
		t.Fatalf("a run not kept locally was named: %v", got)
	}
}

func TestRetentionNegativeKeepsAll(t *testing.T) {
	r := NewRetention(-1)
	for _, id := range []string{"a", "b", "c", "d"} {
		if got := r.Ended(id, true); got != nil {
			t.Fatalf("keep -1 named %v", got)
		}
	}
}
