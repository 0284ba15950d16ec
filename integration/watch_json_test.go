package integration

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// watchEventJSON is one line of ferry watch --json.
type watchEventJSON struct {
	Event     string   `json:"event"`
	Time      string   `json:"time"`
	Iteration int      `json:"iteration"`
	ID        string   `json:"id"`
	Changed   []string `json:"changed"`
	Status    string   `json:"status"`
	ExitCode  *int     `json:"exit_code"`
	DurationS *float64 `json:"duration_s"`
	Reason    string   `json:"reason"`
}

// nextEvent reads the next stdout line of w as an event.
func (w *liveWatch) nextEvent(t *testing.T) (watchEventJSON, string) {
	t.Helper()
	select {
	case l, ok := <-w.stdout:
		if !ok {
			t.Fatalf("ferry watch --json ended its stdout; stderr:\n%s", w.errLog)
		}
		var ev watchEventJSON
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Event == "" || ev.Time == "" {
			t.Fatalf("stdout line %q is not an event (%v); stderr:\n%s", l, err, w.errLog)
		}
		return ev, l
	case <-time.After(60 * time.Second):
		t.Fatalf("no event within 60s; stderr:\n%s", w.errLog)
	}
	panic("unreachable")
}

// expectRunEvents reads one run's start, status (one or more) and end
// events, and returns the end and the statuses seen.
func (w *liveWatch) expectRunEvents(t *testing.T, n int) (watchEventJSON, []string) {
	t.Helper()
	start, l := w.nextEvent(t)
	if start.Event != "start" || start.Iteration != n || start.ID == "" {
		t.Fatalf("run %d: first event %s, want start", n, l)
	}
	var statuses []string
	for {
		ev, l := w.nextEvent(t)
		switch {
		case ev.Event == "status" && ev.ID == start.ID && ev.Status != "":
			statuses = append(statuses, ev.Status)
		case ev.Event == "end" && ev.ID == start.ID && ev.DurationS != nil && strings.Contains(l, `"exit_code":`) && len(statuses) > 0:
			return ev, statuses
		default:
			t.Fatalf("run %d: event %s after statuses %v, want status or end with exit_code and duration_s", n, l, statuses)
		}
	}
}

// TestWatchJSON: --json prints only events on stdout (the script's output
// goes to stderr): per run a start, its status changes up to Running, and
// an end with the script's exit code, and every place shows one duration for one run: the end line,
// the next separator's "previous:" and the end event.
func TestWatchJSON(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	dir := sourceDir(t, testutil.Tree{"train.py": "import time\nprint('out v1', flush=True)\ntime.sleep(1)\n"})
	w := c.startWatch(t, dir, "--json", "train.py")
	end1, statuses := w.expectRunEvents(t, 1)
	if end1.Status != "Completed" || end1.ExitCode == nil || *end1.ExitCode != 0 {
		t.Fatalf("first run end %+v, want Completed with exit code 0", end1)
	}
	if statuses[len(statuses)-1] != "Running" {
		t.Errorf("first run's status events %v: want the change to Running", statuses)
	}
	w.expect(t, w.stderr, "out v1", 10*time.Second)
	line := w.expect(t, w.stderr, "ferry: run ", 10*time.Second)
	took := strings.Fields(line)[5] // ferry: run ID Completed in 312ms
	if got := fmt.Sprint(time.Duration(*end1.DurationS * float64(time.Second)).Round(time.Millisecond)); got != took {
		t.Errorf("end event says %s, end line %q", got, line)
	}

	writeFile(t, filepath.Join(dir, "train.py"), "import sys\nprint('out v2', flush=True)\nsys.exit(3)\n")
	end2, _ := w.expectRunEvents(t, 2)
	if end2.Status != "Failed" || end2.ExitCode == nil || *end2.ExitCode != 3 {
		t.Fatalf("second run end %+v, want Failed with exit code 3", end2)
	}
	sep := w.expect(t, w.stderr, watchSeparator+"2 ", 10*time.Second)
	if !strings.Contains(sep, "previous: Completed after "+took+" ") {
		t.Errorf("separator %q: want the previous run's duration %s, as its end line said", sep, took)
	}
	if code := w.stop(t); code != 130 {
		t.Fatalf("exit status %d after Ctrl-C, want 130", code)
	}
	if ev, l := w.nextEvent(t); ev.Event != "stopped" || ev.Reason != "interrupted" {
		t.Fatalf("last event %s, want stopped (interrupted)", l)
	}
}
