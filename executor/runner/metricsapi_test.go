package runner

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/testutil"
)

// getMetrics fetches GET /v1/runs/{id}/metrics?offset=N raw.
func (e *env) getMetrics(id string, offset int64) (code int, body string, size string) {
	e.t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/v1/runs/%s/metrics?offset=%d", e.srv.URL, id, offset))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get(api.MetricsSizeHeader)
}

// TestMetricsEndpoint: a running run's metrics answer 409; once it ended
// its record carries only their summary (run.json stays small), they are
// served from any offset with the whole size in a header, and a run that
// ended under an older executor, which kept none, has them kept on demand.
func TestMetricsEndpoint(t *testing.T) {
	script := py(
		"import ferry_run, os, sys, time",
		"for i in range(3):",
		"    ferry_run.log('loss', 1.0 / (i + 1), step=i)",
		"print('logged', flush=True)",
		"while not os.path.exists('go'):",
		"    time.sleep(0.05)",
	)
	e := newEnv(t, map[string]testutil.Tree{"s": {"m.py": script}})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "m.py"})
	e.waitForLine(run.Spec.ID, "logged")
	if code, _, _ := e.getMetrics(run.Spec.ID, 0); code != http.StatusConflict {
		t.Fatalf("metrics of a running run: %d, want 409", code)
	}
	running, _ := e.r.Get(run.Spec.ID)
	os.WriteFile(running.Dir+"/work/go", nil, 0o644)
	got := e.wait(run.Spec.ID)
	if got.Metrics == nil || got.Metrics.Count != 3 || got.Metrics.Dropped != 0 {
		t.Fatalf("record's metrics summary %+v, want 3 kept", got.Metrics)
	}
	if data, _ := os.ReadFile(got.Dir + "/run.json"); strings.Contains(string(data), "loss") {
		t.Errorf("run.json carries the metrics:\n%s", data)
	}
	code, all, size := e.getMetrics(run.Spec.ID, 0)
	if code != http.StatusOK || strings.Count(all, "\n") != 3 || size != strconv.Itoa(len(all)) || int64(len(all)) != got.Metrics.Bytes {
		t.Fatalf("metrics: %d, %q, size %s", code, all, size)
	}
	first := int64(strings.IndexByte(all, '\n') + 1)
	if _, rest, size := e.getMetrics(run.Spec.ID, first); rest != all[first:] || size != strconv.Itoa(len(all)) {
		t.Errorf("from offset %d: %q (size %s), want %q", first, rest, size, all[first:])
	}
	if code, _, _ := e.getMetrics(run.Spec.ID, int64(len(all))+1); code != http.StatusBadRequest {
		t.Errorf("offset past the end: %d, want 400", code)
	}
	if code, _, _ := e.getMetrics("nosuch", 0); code != http.StatusNotFound {
		t.Errorf("metrics of an unknown run: %d, want 404", code)
	}
	// As if the run had ended under an older executor.
	if err := os.Remove(got.Dir + "/" + keptFile); err != nil {
		t.Fatal(err)
	}
	if _, again, _ := e.getMetrics(run.Spec.ID, 0); again != all {
		t.Errorf("metrics kept on demand %q, want %q", again, all)
	}
}
