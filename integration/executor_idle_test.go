package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// waitSocket waits up to limit for the local executor's socket to exist
// (want true) or be gone, and reports whether it got there.
func (c *cli) waitSocket(want bool, limit time.Duration) bool {
	sock := filepath.Join(c.home, "local", "executor.sock")
	for deadline := time.Now().Add(limit); ; time.Sleep(100 * time.Millisecond) {
		_, err := os.Stat(sock)
		if (err == nil) == want {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// TestExecutorIdleExit: an executor with no run going and no client exits
// after its idle timeout (FERRY_EXECUTOR_IDLE_TIMEOUT here; 30m by
// default); a detached run keeps it up until the run ends, however long
// no client comes; the next command starts it again, with nothing to do
// for the user.
func TestExecutorIdleExit(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	c.env = append(c.env, "FERRY_EXECUTOR_IDLE_TIMEOUT=2s")
	src := sourceDir(t, testutil.Tree{"t.py": "import sys, time\ntime.sleep(float(sys.argv[1]))\nprint('slept', sys.argv[1])\n"})
	if r := c.mustRun(src, "run", "t.py", "0"); !strings.Contains(r.Stdout, "slept 0") {
		t.Fatalf("first run: %q", r.Stdout)
	}
	if !c.waitSocket(false, 20*time.Second) {
		t.Fatal("the idle executor is still serving 20s after the run, with a 2s idle timeout")
	}
	r := c.mustRun(src, "run", "--detach", "t.py", "6")
	id := runIDOf(t, r.Stderr)
	time.Sleep(4 * time.Second) // twice the idle timeout, with no client
	if !c.waitSocket(true, 0) {
		t.Fatal("the executor exited while a detached run was going")
	}
	if !c.waitSocket(false, 25*time.Second) {
		t.Fatal("the executor did not exit after the detached run ended")
	}
	if r := c.mustRun(src, "logs", id); !strings.Contains(r.Stdout, "slept 6") {
		t.Fatalf("logs of the detached run after the executor restarted: %q\n%s", r.Stdout, r.Stderr)
	}
	if rec := c.show(id); rec.Status != "Completed" {
		t.Fatalf("detached run status %s, want Completed", rec.Status)
	}
	if r := c.mustRun(src, "run", "t.py", "0"); !strings.Contains(r.Stdout, "slept 0") || strings.Contains(r.Stderr, "installing") {
		t.Fatalf("run after an idle exit: %q\n%s", r.Stdout, r.Stderr)
	}
}
