package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// snapshotReport is what ferry snapshot --json says.
type snapshotReport struct {
	Snapshot  string `json:"snapshot"`
	Watched   bool   `json:"watched"`
	Rescanned int    `json:"rescanned_folders"`
	Hashed    int    `json:"hashed_files"`
}

// snapshotJSON runs ferry snapshot --json (with extra flags first).
func snapshotJSON(t *testing.T, c *cli, src string, flags ...string) (id string, watched bool) {
	r := snapshotReportOf(t, c, src, flags...)
	return r.Snapshot, r.Watched
}

func snapshotReportOf(t *testing.T, c *cli, src string, flags ...string) snapshotReport {
	t.Helper()
	var r snapshotReport
	out := c.mustRun("", append(flags, "snapshot", "--source", src, "--json")...).Stdout
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Snapshot == "" {
		t.Fatalf("snapshot --json: %q: %v", out, err)
	}
	return r
}

// TestSnapshotWatchedByTheKeeper: with the keeper on, a snapshot of a
// tree in which nothing changed is the one saved last (nothing walked),
// a file saved just before a command is always in that command's
// snapshot, whose id is the walk's (--no-keeper), read from the folder
// that changed alone, and a local run right after an edit runs the
// edited script.
func TestSnapshotWatchedByTheKeeper(t *testing.T) {
	c := newCLI(t)
	withKeeper(c)
	src := shortDir(t)
	testutil.WriteTree(t, src, testutil.Tree{"train.py": "print('v0')\n", "pkg/m.py": "x = 1\n", ".gitignore": "out/\n"})

	first, watched := snapshotJSON(t, c, src)
	if watched {
		t.Fatal("the first snapshot came from the tree cache")
	}
	if id, watched := snapshotJSON(t, c, src); !watched || id != first {
		t.Fatalf("unchanged tree: snapshot %s (watched %v), want %s from the tree cache", id, watched, first)
	}
	for i := range 5 {
		os.WriteFile(filepath.Join(src, "pkg", fmt.Sprintf("n%d.py", i)), []byte("y\n"), 0o644)
		r := snapshotReportOf(t, c, src)
		walked, _ := snapshotJSON(t, c, src, "--no-keeper")
		if r.Watched || r.Snapshot != walked || r.Snapshot == first {
			t.Fatalf("after new file %d: snapshot %s (watched %v), want the walk's %s", i, r.Snapshot, r.Watched, walked)
		}
		if r.Rescanned != 1 || r.Hashed < 1 {
			t.Errorf("after new file %d: %d folders read again and %d files hashed, want pkg/ alone, and the new file hashed", i, r.Rescanned, r.Hashed)
		}
	}
	os.MkdirAll(filepath.Join(src, "out"), 0o755)
	before, _ := snapshotJSON(t, c, src)
	os.WriteFile(filepath.Join(src, "out", "ckpt.bin"), []byte("w"), 0o644)
	if id, watched := snapshotJSON(t, c, src); !watched || id != before {
		t.Errorf("a write the .gitignore leaves out: snapshot %s (watched %v), want %s from the tree cache", id, watched, before)
	}

	for _, v := range []string{"v1", "v2"} {
		os.WriteFile(filepath.Join(src, "train.py"), []byte("print('"+v+"')\n"), 0o644)
		r := c.mustRun(src, "run", "train.py")
		if !strings.Contains(r.Stdout, v) {
			t.Fatalf("run right after saving %s printed:\n%s", v, r.Stdout)
		}
	}
}
