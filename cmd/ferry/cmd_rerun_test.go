package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/executor/api"
)

// TestRerunTakeFlags: ferry rerun's flags right after RUN are its own;
// the first other word, or what follows --, is the script's.
func TestRerunTakeFlags(t *testing.T) {
	tests := []struct {
		in      string
		compute string
		detach  bool
		rest    string
	}{
		{"", "", false, ""},
		{"--compute box", "box", false, ""},
		{"--compute=box --detach --lr 1", "box", true, "--lr 1"},
		{"--epochs 3 --compute box", "", false, "--epochs 3 --compute box"},
		{"--detach -- --compute x", "", true, "--compute x"},
	}
	for _, tt := range tests {
		var o rerunOptions
		rest, err := o.takeFlags(strings.Fields(tt.in))
		if err != nil || o.Compute != tt.compute || o.Detach != tt.detach || strings.Join(rest, " ") != tt.rest {
			t.Errorf("%q: compute %q detach %v rest %q, %v; want %q %v %q", tt.in, o.Compute, o.Detach, rest, err, tt.compute, tt.detach, tt.rest)
		}
	}
	var o rerunOptions
	if _, err := o.takeFlags([]string{"--compute"}); err == nil {
		t.Error("--compute without a value was accepted")
	}
}

// TestRunExit: ferry's exit status is the script's.
func TestRunExit(t *testing.T) {
	three, zero := 3, 0
	tests := []struct {
		status string
		code   *int
		want   int
	}{
		{"Completed", &zero, 0},
		{"Failed", &three, 3},
		{"Canceled", nil, exitCanceled},
		{"Failed", nil, 1},
	}
	for _, tt := range tests {
		got := 0
		var ee exitError
		if err := runExit(apiRun(tt.status, tt.code)); errors.As(err, &ee) {
			got = ee.code
		} else if err != nil {
			got = -1
		}
		if got != tt.want {
			t.Errorf("%s %v: exit %d, want %d", tt.status, tt.code, got, tt.want)
		}
	}
}

func apiRun(status string, code *int) api.Run {
	return api.Run{Status: api.Status(status), ExitCode: code}
}
