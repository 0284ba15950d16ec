package history

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*_[0-9]+_[0-9a-f]{6}$`)

func TestNewRunID(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tests := []struct {
		experiment string
		prefix     string
	}{
		{"exp", "exp_1700000000_"},
		{"my experiment/v2", "my_experiment_v2_1700000000_"},
		{"../../etc", "_.._etc_1700000000_"},
		{"-rf", "rf_1700000000_"},
		{"", "run_1700000000_"},
		{"...", "run_1700000000_"},
		{"résumé", "r_sum__1700000000_"},
		{strings.Repeat("x", 100), strings.Repeat("x", 46) + "_1700000000_"},
	}
	for _, tt := range tests {
		t.Run(tt.experiment, func(t *testing.T) {
			id := NewRunID(tt.experiment, now)
			if !strings.HasPrefix(id, tt.prefix) || len(id) != len(tt.prefix)+6 {
				t.Errorf("NewRunID(%q) = %q, want %q + 6 hex digits", tt.experiment, id, tt.prefix)
			}
			if !runIDPattern.MatchString(id) || len(id) > MaxRunIDLen {
				t.Errorf("NewRunID(%q) = %q: invalid characters or longer than %d", tt.experiment, id, MaxRunIDLen)
			}
		})
	}
}

func TestNewRunIDUnique(t *testing.T) {
	// 1,000 draws of 24 random bits collide about 3% of the time (the
	// birthday bound), so a single repeat is allowed; three or more happen
	// less than once in 100,000 runs unless the random part is broken.
	seen := make(map[string]bool)
	now := time.Now()
	repeats := 0
	for range 1000 {
		id := NewRunID("exp", now)
		if seen[id] {
			repeats++
		}
		seen[id] = true
	}
	if repeats > 2 {
		t.Fatalf("%d repeated ids in 1,000 drawn in the same second", repeats)
	}
	if a, b := NewRunID("exp", time.Unix(1700000000, 0)), NewRunID("exp", time.Unix(1700000001, 0)); a >= b {
		t.Errorf("ids are not time-sortable: %s >= %s", a, b)
	}
}
