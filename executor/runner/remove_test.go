//go:build linux

package runner

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/testutil"
)

func TestRemoveEndedRun(t *testing.T) {
	e := newEnv(t, map[string]testutil.Tree{"s": {
		"a.py":       py("import os", "open(os.path.join(os.environ['FERRY_OUTPUTS_DIR'], 'o.txt'), 'w').write('x')", "print('done')"),
		"pkg/b.py":   "x = 1\n",
		"data/c.csv": "1,2\n",
	}})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "a.py"})
	dir := e.wait(run.Spec.ID).Dir
	if code := e.do("DELETE", "/v1/runs/"+run.Spec.ID, nil, nil); code != http.StatusNoContent {
		t.Fatalf("DELETE: status %d, want 204", code)
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Fatalf("run directory %s still there after DELETE (err %v)", dir, err)
	}
	if code := e.do("GET", "/v1/runs/"+run.Spec.ID, nil, nil); code != http.StatusNotFound {
		t.Fatalf("GET of a removed run: status %d, want 404", code)
	}
	if code := e.do("DELETE", "/v1/runs/"+run.Spec.ID, nil, nil); code != http.StatusNotFound {
		t.Fatalf("second DELETE: status %d, want 404", code)
	}
	// The files go in the background, and nothing of them stays.
	waitGone(t, filepath.Join(e.state, removingDirName))
	// A new runner on the same state does not find the run again.
	e.stop()
	e.start()
	if _, err := e.r.Get(run.Spec.ID); err == nil {
		t.Fatal("a runner started after the removal knows the run again")
	}
}

func TestRemoveRefusesARunGoing(t *testing.T) {
	e := newEnv(t, map[string]testutil.Tree{"s": {
		"a.py": py("import time", "print('ready', flush=True)", "time.sleep(300)"),
	}})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "a.py"})
	e.waitForLine(run.Spec.ID, "ready")
	if code := e.do("DELETE", "/v1/runs/"+run.Spec.ID, nil, nil); code != http.StatusConflict {
		t.Fatalf("DELETE of a running run: status %d, want 409", code)
	}
	got, err := e.r.Get(run.Spec.ID)
	if err != nil || got.Status != api.StatusRunning {
		t.Fatalf("after a refused DELETE: %v, %v; want the run still Running", got.Status, err)
	}
	if _, err := os.Stat(filepath.Join(got.Dir, "work", "a.py")); err != nil {
		t.Fatalf("a refused DELETE touched the run's files: %v", err)
	}
	if _, err := e.r.Cancel(t.Context(), run.Spec.ID); err != nil {
		t.Fatal(err)
	}
	e.wait(run.Spec.ID)
}

// Leftovers of a removal cut short (the daemon killed while deleting) are
// deleted by the next runner, and never taken for a run.
func TestRemoveLeftoversDeletedAtStart(t *testing.T) {
	e := newEnv(t, nil)
	e.stop()
	left := filepath.Join(e.state, removingDirName, "old.123", "run")
	testutil.WriteTree(t, left, testutil.Tree{"run.json": "{}", "work/a.py": "print(1)\n"})
	e.start()
	waitGone(t, filepath.Join(e.state, removingDirName))
	if n := len(e.r.List()); n != 0 {
		t.Fatalf("runner lists %d runs, want 0", n)
	}
}

// A script may leave directories its own user cannot write or read; the
// executor's user (not root) must still be able to delete them. Root
// ignores the modes, so the removal runs as an unprivileged user here.
func TestRemoveTreeWithReadOnlyDirectories(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the removal as another user") // CI runs as root
	}
	base, err := os.MkdirTemp("", "ferry-remove-") // t.TempDir's parent is 0700
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	os.Lchown(base, 65534, 65534) // as the holder in runs.removing is the executor user's
	dir := filepath.Join(base, "run")
	testutil.WriteTree(t, dir, testutil.Tree{"work/ro/a.txt": "a", "work/locked/deep/b.txt": "b", "work/ok.txt": "c"})
	os.Symlink("/etc", filepath.Join(dir, "work", "etc-link"))
	const nobody = 65534
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, nobody, nobody) })
	os.Chmod(filepath.Join(dir, "work", "ro"), 0o555)
	os.Chmod(filepath.Join(dir, "work", "locked", "deep"), 0o500)
	os.Chmod(filepath.Join(dir, "work", "locked"), 0o000)
	// The test binary, where that user can run it; TestMain's hook.
	bin := filepath.Join(base, "runner.test")
	if data, err := os.ReadFile(os.Args[0]); err != nil || os.WriteFile(bin, data, 0o755) != nil {
		t.Fatalf("copy the test binary: %v", err)
	}
	cmd := exec.Command(bin, "remove-tree", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("removeTree as uid %d: %v\n%s", nobody, err, out)
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s still there (err %v)", dir, err)
	}
	if _, err := os.Stat("/etc/passwd"); err != nil {
		t.Fatalf("the removal went through the symlink: %v", err)
	}
}

func waitGone(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ents, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if len(ents) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still holds %d entries", dir, len(ents))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// recorder is a Recycler that takes the trees of one snapshot.
type recorder struct {
	take   string
	called chan [2]string
}

func (r *recorder) Recycle(snapshotID, dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "a.py"))
	r.called <- [2]string{snapshotID, fmt.Sprint(err)}
	if snapshotID != r.take {
		return false
	}
	return os.Rename(dir, dir+".taken") == nil
}

// TestRemoveOffersTheTreeToTheRecycler: a removed run's working tree is
// offered, whole, to the Recycler before its directory is deleted.
func TestRemoveOffersTheTreeToTheRecycler(t *testing.T) {
	e := newEnv(t, map[string]testutil.Tree{"s": {"a.py": py("print('done')")}})
	rec := &recorder{take: "s", called: make(chan [2]string, 1)}
	e.stop()
	e.recycler = rec
	e.start()
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "a.py"})
	e.wait(run.Spec.ID)
	if code := e.do("DELETE", "/v1/runs/"+run.Spec.ID, nil, nil); code != http.StatusNoContent {
		t.Fatalf("DELETE: status %d", code)
	}
	select {
	case got := <-rec.called:
		if got != [2]string{"s", "<nil>"} {
			t.Fatalf("Recycle got snapshot %q and a tree without a.py (%s)", got[0], got[1])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the Recycler was not offered the tree")
	}
	waitGone(t, filepath.Join(e.state, removingDirName))
}
