package integration

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// attachThroughProxy attaches a real sshd as compute NAME through a TCP
// proxy that the test can cut.
func attachThroughProxy(t *testing.T, c *cli, name string) *testutil.Proxy {
	t.Helper()
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	proxy := testutil.StartProxy(t, s.Addr, testutil.ProxyOptions{})
	c.mustRun("", "compute", "attach", name, "--address", "127.0.0.1", "--port", strconv.Itoa(proxy.Port()),
		"--username", s.User, "--private-key", s.KeyFile, "--known-hosts", filepath.Join(shortDir(t), "known_hosts"),
		"--accept-new-host-key", "--state-dir", stateDir(t))
	return proxy
}

const slowScript = "import time\nprint('%s start', flush=True)\ntime.sleep(3)\nprint('%s end', flush=True)\n"

// TestWatchReconnects: the SSH connection reset mid-run, then again
// between runs. ferry watch says so, reconnects, the run's output resumes
// where it stopped (no line lost, none twice), the run is recorded as it
// ended, and the next save reruns over the new connection.
func TestWatchReconnects(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	proxy := attachThroughProxy(t, c, "box")
	dir := sourceDir(t, testutil.Tree{"train.py": strings.ReplaceAll(slowScript, "%s", "v1")})
	w := c.startWatch(t, dir, "--compute", "box", "train.py")
	w.expect(t, w.stdout, "v1 start", 60*time.Second)
	proxy.DropAll()
	w.expect(t, w.stderr, "connection to box lost; reconnecting", 30*time.Second)
	w.expect(t, w.stderr, "reconnected to box", 30*time.Second)
	if l := w.expect(t, w.stdout, "v1", 30*time.Second); l != "v1 end" {
		t.Fatalf("after the reconnect stdout printed %q, want the rest of the log (v1 end)", l)
	}
	if end := w.expect(t, w.stderr, "ferry: run ", 30*time.Second); !strings.Contains(end, "Completed") {
		t.Fatalf("first run ended: %s, want Completed", end)
	}

	proxy.DropAll()
	time.Sleep(500 * time.Millisecond) // the drop is seen before the save
	writeFile(t, filepath.Join(dir, "train.py"), strings.ReplaceAll(slowScript, "%s", "v2"))
	w.expect(t, w.stderr, watchSeparator+"2 ", 30*time.Second)
	w.expect(t, w.stderr, "reconnected to box", 30*time.Second)
	w.expect(t, w.stdout, "v2 start", 30*time.Second)
	w.expect(t, w.stdout, "v2 end", 30*time.Second)
	if end := w.expect(t, w.stderr, "ferry: run ", 30*time.Second); !strings.Contains(end, "Completed") {
		t.Fatalf("second run ended: %s, want Completed", end)
	}
	runs := c.runsOf(t, filepath.Base(dir)+"-watch")
	if len(runs) != 2 || runs[0].Status != "Completed" || runs[1].Status != "Completed" {
		t.Fatalf("history: %+v, want two Completed runs", runs)
	}
}

// TestRunReconnects: ferry run follows a run across a reset connection:
// it reconnects, prints the rest of the log once and exits with the run's
// status.
func TestRunReconnects(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	proxy := attachThroughProxy(t, c, "box")
	src := sourceDir(t, testutil.Tree{"train.py": strings.ReplaceAll(slowScript, "%s", "r") + "raise SystemExit(4)\n"})
	lr := c.startRun(t, t.Context(), src, "--compute", "box", "train.py")
	if line, err := lr.stdout.ReadString('\n'); err != nil || line != "r start\n" {
		t.Fatalf("first line %q, %v\nstderr:\n%s", line, err, lr.stderr)
	}
	proxy.DropAll()
	stdout, code, stderr := lr.wait(t)
	if code != 4 || stdout != "r end\n" || !strings.Contains(stderr, "reconnected to box") {
		t.Fatalf("exit %d, rest of stdout %q, want 4 and \"r end\" once\nstderr:\n%s", code, stdout, stderr)
	}
	if rec := c.show(lr.id); rec.Status != "Failed" || exitOf(rec) != 4 {
		t.Errorf("show: %s exit %d, want Failed 4", rec.Status, exitOf(rec))
	}
}
