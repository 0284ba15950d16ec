package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// TestRunsPrune: ferry runs prune deletes from the target the directories
// of ended runs past the newest --keep, only those the local history holds
// whole; a run going on and one whose outputs passed the size cap stay.
func TestRunsPrune(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{
		"small.py": "import os\nopen(os.path.join(os.environ['FERRY_OUTPUTS_DIR'], 's.txt'), 'w').write('small')\nprint('small run')\n",
		"big.py":   "import os\nopen(os.path.join(os.environ['FERRY_OUTPUTS_DIR'], 'b.bin'), 'wb').write(b'x' * 4096)\n",
		"slow.py":  "import time\nprint('going', flush=True)\ntime.sleep(120)\n",
	})
	first := runIDOf(t, c.mustRun(src, "run", "small.py").Stderr)
	capped := runIDOf(t, c.mustRun(src, "run", "--max-output-size", "1KiB", "big.py").Stderr)
	newest := runIDOf(t, c.mustRun(src, "run", "small.py").Stderr)
	going := runIDOf(t, c.mustRun(src, "run", "--detach", "slow.py").Stderr)
	t.Cleanup(func() { c.run("", "cancel", going) })

	runsDir := filepath.Join(c.home, "local", "runs")
	dry := c.mustRun("", "runs", "prune", "--keep", "1", "--dry-run")
	if !strings.Contains(dry.Stdout, "would remove "+first) || len(testutil.DirNames(t, runsDir)) != 4 {
		t.Fatalf("--dry-run: %q; run directories %v, want all 4", dry.Stdout, testutil.DirNames(t, runsDir))
	}
	r := c.mustRun("", "runs", "prune", "--keep", "1", "--json")
	var res struct {
		Removed []string `json:"removed"`
		Kept    []struct{ ID, Why string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
		t.Fatalf("decode %q: %v", r.Stdout, err)
	}
	if !slices.Equal(res.Removed, []string{first}) {
		t.Fatalf("removed %v, want [%s]", res.Removed, first)
	}
	if len(res.Kept) != 1 || res.Kept[0].ID != capped || !strings.Contains(res.Kept[0].Why, "outputs/") {
		t.Fatalf("kept %+v, want %s for its outputs", res.Kept, capped)
	}
	want := []string{capped, newest, going}
	slices.Sort(want)
	if got := testutil.DirNames(t, runsDir); !slices.Equal(got, want) {
		t.Fatalf("run directories left: %v, want %v", got, want)
	}
	// The removed run is whole in the local history.
	if l := c.mustRun("", "logs", first); !strings.Contains(l.Stdout, "small run") {
		t.Fatalf("ferry logs of a pruned run: %q", l.Stdout)
	}
	to := filepath.Join(t.TempDir(), "out")
	c.mustRun("", "download", first, "--to", to)
	if b, err := os.ReadFile(filepath.Join(to, "s.txt")); err != nil || string(b) != "small" {
		t.Fatalf("download of a pruned run: %q, %v", b, err)
	}
	if r := c.run("", "runs", "prune"); r.Code != 2 || !strings.Contains(r.Stderr, "--keep") {
		t.Fatalf("prune without --keep: exit %d, %q; want a usage error", r.Code, r.Stderr)
	}
}
