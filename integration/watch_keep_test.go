package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// keepScript prints its version and writes it, padded to size bytes, to
// outputs/o.txt.
func keepScript(version string, size int) string {
	return "import os\n" +
		"print('" + version + "', flush=True)\n" +
		"open(os.path.join(os.environ['FERRY_OUTPUTS_DIR'], 'o.txt'), 'w').write('" + version + "'.ljust(" + strconv.Itoa(size) + "))\n"
}

// TestWatchKeepsTheNewestRunsOnTheTarget: every save is a run with a tree
// of its own on the target; ferry watch --keep-runs 1 deletes the older
// ones there once the local history holds their log and outputs, and
// keeps a run whose outputs passed --max-output-size (they exist only on
// the target).
func TestWatchKeepsTheNewestRunsOnTheTarget(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	c := newCLI(t)
	state := stateDir(t)
	c.attachSSHD("box", s, "--state-dir", state)
	train := "train.py"
	dir := sourceDir(t, testutil.Tree{train: keepScript("v1", 10), "lib/x.py": "X = 1\n"})
	w := c.startWatch(t, dir, "--compute", "box", "--keep-runs", "1", "--max-output-size", "100", train)
	w.expectRun(t, 1)
	for n, v := range []struct {
		version string
		size    int
	}{{"v2", 500}, {"v3", 10}, {"v4", 10}} {
		writeFile(t, filepath.Join(dir, train), keepScript(v.version, v.size))
		if _, end := w.expectRun(t, n+2); end != "Completed" {
			t.Fatalf("run %d ended %s; stderr:\n%s", n+2, end, w.errLog)
		}
	}
	runs := c.runsOf(t, filepath.Base(dir)+"-watch") // newest first
	if len(runs) != 4 {
		t.Fatalf("%d runs in the history, want 4", len(runs))
	}
	// v2's outputs stayed on the target: its directory too; v4 is the newest.
	want := []string{runs[2].ID, runs[0].ID}
	slices.Sort(want)
	var got []string
	deadline := time.Now().Add(15 * time.Second)
	for {
		got = testutil.DirNames(t, filepath.Join(state, "runs"))
		if slices.Equal(got, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("run directories on the target: %v, want %v (v2's and v4's)\nstderr:\n%s", got, want, w.errLog)
	}
	w.stop(t)
	// A removed run is whole in the local history.
	first := runs[3].ID
	if r := c.mustRun("", "logs", first); !strings.Contains(r.Stdout, "v1") {
		t.Fatalf("ferry logs %s of a removed run: %q", first, r.Stdout)
	}
	to := filepath.Join(t.TempDir(), "out")
	c.mustRun("", "download", first, "--to", to)
	if b, err := os.ReadFile(filepath.Join(to, "o.txt")); err != nil || strings.TrimSpace(string(b)) != "v1" {
		t.Fatalf("ferry download %s of a removed run: %q, %v", first, b, err)
	}
}
