package runner

import (
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/testutil"
)

// TestMetricsLineOverCapSkipsOnlyThatLine: a 100 KiB metrics line is
// skipped, the run log says so, and the metrics after it survive.
func TestMetricsLineOverCapSkipsOnlyThatLine(t *testing.T) {
	script := py(
		"import os, ferry_run",
		"ferry_run.log('before', 1)",
		"with open(os.environ['FERRY_METRICS_FILE'], 'a') as f:",
		"    f.write('{\"name\": \"huge\", \"value\": 1, \"pad\": \"' + 'x' * (100 << 10) + '\"}\\n')",
		"for i in range(3):",
		"    ferry_run.log('after', i, step=i)",
	)
	e := newEnv(t, map[string]testutil.Tree{"s": {"m.py": script}})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "m.py"})
	got := e.wait(run.Spec.ID)
	if got.Status != api.StatusCompleted {
		t.Fatalf("status %s (%s)", got.Status, got.Reason)
	}
	names := map[string]int{}
	for _, m := range e.metrics(run.Spec.ID) {
		names[m.Name]++
	}
	if names["before"] != 1 || names["after"] != 3 || names["huge"] != 0 {
		t.Errorf("metrics by name %v, want before 1, after 3, no huge", names)
	}
	log := string(e.readLog(run.Spec.ID, 0, false))
	if !strings.Contains(log, "skipped 1 metrics line(s) over 64 KiB (line [2]") {
		t.Errorf("run log does not say a metrics line was skipped:\n%s", log)
	}
}
