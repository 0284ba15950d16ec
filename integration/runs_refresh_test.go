package integration

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// TestRunsRefresh: a run left with --detach is brought up to date by
// ferry runs --refresh (its end, exit code and outputs recorded), after
// which the plain, connection-free list shows it too.
func TestRunsRefresh(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"job.py": "import os, time\ntime.sleep(0.5)\n" +
		"open(os.path.join(os.environ['FERRY_OUTPUTS_DIR'], 'm.txt'), 'w').write('m')\nraise SystemExit(3)\n"})
	id := runIDOf(t, c.mustRun(src, "run", "--detach", "job.py").Stderr)
	var first []runRecord
	if err := json.Unmarshal([]byte(c.mustRun("", "runs", "--no-refresh", "--json").Stdout), &first); err != nil ||
		len(first) != 1 || first[0].ID != id || first[0].Status == "Failed" {
		t.Fatalf("right after --detach, not asking the target: %+v, %v", first, err)
	}
	type withOutputs struct {
		runRecord
		Outputs []struct {
			Path string `json:"path"`
		} `json:"outputs"`
	}
	deadline := time.Now().Add(60 * time.Second)
	var got []withOutputs
	for {
		r := c.mustRun("", "runs", "--refresh", "--json")
		if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil || len(got) != 1 {
			t.Fatalf("runs --refresh --json: %v\n%s", err, r.Stdout)
		}
		if got[0].Status == "Failed" || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if got[0].Status != "Failed" || exitOf(got[0].runRecord) != 3 || len(got[0].Outputs) != 1 || got[0].Outputs[0].Path != "m.txt" {
		t.Fatalf("after --refresh: %+v, want Failed, exit 3, outputs [m.txt]", got[0])
	}
	if rec := c.runsOf(t, filepath.Base(src))[0]; rec.Status != "Failed" || exitOf(rec) != 3 {
		t.Errorf("plain list after the refresh: %+v", rec)
	}
}
