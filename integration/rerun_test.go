package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// rerunScript prints its version, arguments and data file, and exits with
// its first argument when that is a number.
const rerunScript = `import sys
print("v1", sys.argv[1:], open("data/input.txt").read().strip(), open("lib.py").read().strip())
if sys.argv[1:] and sys.argv[1].isdigit():
    raise SystemExit(int(sys.argv[1]))
`

func rerunSource(t *testing.T) string {
	return sourceDir(t, testutil.Tree{"train.py": rerunScript, "data/input.txt": "data1\n", "lib.py": "lib\n"})
}

// editSource changes the script and the data file and deletes lib.py.
func editSource(t *testing.T, dir string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "train.py"), "print('v2')\n")
	writeFile(t, filepath.Join(dir, "data", "input.txt"), "data2\n")
	if err := os.Remove(filepath.Join(dir, "lib.py")); err != nil {
		t.Fatal(err)
	}
}

// rerunOf is the rerun_of field of `ferry show --json`.
func rerunOf(t *testing.T, rec runRecord) string {
	t.Helper()
	var v struct {
		RerunOf  string `json:"rerun_of"`
		Snapshot string `json:"snapshot"`
	}
	if err := json.Unmarshal(rec.Raw, &v); err != nil {
		t.Fatal(err)
	}
	return v.RerunOf + " " + v.Snapshot
}

// attachSSHD attaches a real sshd as compute target name.
func attachSSHD(t *testing.T, c *cli, name string) {
	t.Helper()
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	c.mustRun("", "compute", "attach", name, "--address", s.Host, "--port", strconv.Itoa(s.Port),
		"--username", s.User, "--private-key", s.KeyFile, "--known-hosts", filepath.Join(shortDir(t), "known_hosts"),
		"--accept-new-host-key", "--state-dir", stateDir(t))
}

// TestRerunSameTarget: after the source changed, ferry rerun runs the old
// snapshot on the same target with nothing to upload, links the new record
// to the old, and ARGS replace the arguments (the exit status is the
// script's).
func TestRerunSameTarget(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	dir := rerunSource(t)
	first := c.mustRun(dir, "run", "train.py", "a")
	id := runIDOf(t, first.Stderr)
	editSource(t, dir)

	r := c.mustRun(dir, "rerun", id)
	if r.Stdout != "v1 ['a'] data1 lib\n" || !strings.Contains(r.Stderr, "upload: nothing to send") {
		t.Fatalf("rerun printed %q, want the old snapshot's output (v1 ['a'] data1 lib) and no upload\nstderr:\n%s", r.Stdout, r.Stderr)
	}
	orig, again := c.show(id), c.show(runIDOf(t, r.Stderr))
	if got, want := rerunOf(t, again), id+" "+strings.Fields(rerunOf(t, orig))[0]; got != want || again.Status != "Completed" {
		t.Fatalf("rerun record: rerun_of+snapshot %q, status %s; want %q, Completed", got, again.Status, want)
	}
	if show := c.mustRun("", "show", again.ID); !strings.Contains(show.Stdout, "rerun of") || !strings.Contains(show.Stdout, id) {
		t.Errorf("ferry show does not say which run it reran:\n%s", show.Stdout)
	}

	r = c.run(dir, "rerun", id, "3", "x")
	if r.Code != 3 || r.Stdout != "v1 ['3', 'x'] data1 lib\n" {
		t.Fatalf("rerun with ARGS: exit %d, stdout %q; want 3 and v1 ['3', 'x'] data1 lib\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
}

// TestRerunOtherTarget: a run on local, rerun on an SSH target after the
// source changed (a file edited, one deleted): the changed content comes
// from the original target's store, the rest from the local files.
func TestRerunOtherTarget(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	attachSSHD(t, c, "box")
	dir := rerunSource(t)
	id := runIDOf(t, c.mustRun(dir, "run", "train.py", "a").Stderr)
	editSource(t, dir)

	r := c.mustRun(dir, "rerun", "--compute", "box", id)
	if r.Stdout != "v1 ['a'] data1 lib\n" || !strings.Contains(r.Stderr, "upload: 3 files") {
		t.Fatalf("rerun on box printed %q, want v1 ['a'] data1 lib after uploading the 3 files\nstderr:\n%s", r.Stdout, r.Stderr)
	}
	if rec := c.show(runIDOf(t, r.Stderr)); rec.Compute != "box" || !strings.HasPrefix(rerunOf(t, rec), id+" ") {
		t.Fatalf("rerun record: compute %s, rerun_of %q; want box, %s", rec.Compute, rerunOf(t, rec), id)
	}
}

// TestRerunMissingFiles: a run on an SSH target that was detached since,
// and a source that changed: the rerun elsewhere names exactly the files
// whose old content is nowhere to be found.
func TestRerunMissingFiles(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	attachSSHD(t, c, "box")
	dir := rerunSource(t)
	id := runIDOf(t, c.mustRun(dir, "run", "--compute", "box", "train.py").Stderr)
	editSource(t, dir)
	c.mustRun("", "compute", "detach", "box")

	r := c.run(dir, "rerun", id, "--compute", "local")
	if r.Code != 1 || !strings.Contains(r.Stderr, "3 file(s)") || !strings.Contains(r.Stderr, "data/input.txt, lib.py, train.py") {
		t.Fatalf("rerun: exit %d, want 1 and an error naming data/input.txt, lib.py, train.py\nstderr:\n%s", r.Code, r.Stderr)
	}
	// Restoring the files as they were makes the rerun work from them.
	testutil.WriteTree(t, dir, testutil.Tree{"train.py": rerunScript, "data/input.txt": "data1\n", "lib.py": "lib\n"})
	if r := c.mustRun(dir, "rerun", id, "--compute=local"); r.Stdout != "v1 [] data1 lib\n" {
		t.Fatalf("rerun from restored files printed %q", r.Stdout)
	}
}
