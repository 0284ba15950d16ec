//go:build linux

package runner

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/testutil"
)

// gated prints "ready", blocks until the test writes to the FIFO "gate" in
// its working directory, then prints "done".
var gated = testutil.Tree{"gated.py": py(
	"import os",
	"os.mkfifo('gate')",
	"print('ready')",
	"open('gate').read()",
	"print('done')",
)}

func TestRecoverReadoptsLiveShim(t *testing.T) {
	e := newEnv(t, map[string]testutil.Tree{"s": gated})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "gated.py"})
	e.waitForLine(run.Spec.ID, "ready")
	e.stop() // the daemon dies; the shim and the script go on
	shim := e.shimIdentity(run.Dir)
	if !shim.alive() {
		t.Fatal("shim died with the runner")
	}
	e.start()
	if got, err := e.r.Get(run.Spec.ID); err != nil || got.Status != api.StatusRunning {
		t.Fatalf("after recover: %v %v", got.Status, err)
	}
	if err := os.WriteFile(filepath.Join(run.Dir, "work", "gate"), []byte("go"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := e.wait(run.Spec.ID)
	if got.Status != api.StatusCompleted || got.ExitCode == nil || *got.ExitCode != 0 {
		t.Fatalf("status %s code %v reason %q", got.Status, deref(got.ExitCode), got.Reason)
	}
	if log := string(e.readLog(run.Spec.ID, 0, true)); log != "ready\ndone\n" {
		t.Fatalf("log %q", log)
	}
}

func TestRecoverAfterShimKilled(t *testing.T) {
	// The script dies with its shim (parent-death signal), but its
	// grandchild in a session of its own would not: Recover must kill it.
	e := newEnv(t, map[string]testutil.Tree{"s": {"orphan.py": py(
		"import subprocess, sys, time",
		"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'], start_new_session=True)",
		"print('ready')",
		"time.sleep(300)",
	)}})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "orphan.py"})
	e.waitForLine(run.Spec.ID, "ready")
	e.stop()
	shim := e.shimIdentity(run.Dir)
	if err := syscall.Kill(shim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if n := len(runProcs(run.Spec.ID)); n == 0 {
		t.Fatal("no process of the run survived its shim; the test proves nothing")
	}
	e.start()
	got := e.wait(run.Spec.ID)
	if got.Status != api.StatusFailed || got.Reason != lostReason {
		t.Fatalf("status %s reason %q", got.Status, got.Reason)
	}
	if left := runProcs(run.Spec.ID); len(left) > 0 {
		t.Fatalf("processes of the lost run survive: %v", left)
	}
	if log := string(e.readLog(run.Spec.ID, 0, true)); !strings.HasSuffix(log, "ferry: "+lostReason+"\n") {
		t.Fatalf("log %q", log)
	}
}

// A run left Preparing by a dead daemon (no shim ever started) fails.
func TestRecoverInterruptedPreparation(t *testing.T) {
	e := newEnv(t, nil)
	run := e.submit(api.RunSpec{Snapshot: "block", Script: "a.py"})
	e.stop() // the materializer is interrupted; the record stays Preparing
	e.start()
	got := e.wait(run.Spec.ID)
	if got.Status != api.StatusFailed || got.Reason != interruptedReason {
		t.Fatalf("status %s reason %q", got.Status, got.Reason)
	}
}

// A shim that finished while the daemon was down is recorded from exit.json.
func TestRecoverFinishedWhileDown(t *testing.T) {
	e := newEnv(t, map[string]testutil.Tree{"s": gated})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "gated.py"})
	e.waitForLine(run.Spec.ID, "ready")
	e.stop()
	shim := e.shimIdentity(run.Dir)
	pidfd, err := pidfdOpen(shim.PID)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run.Dir, "work", "gate"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitPidfd(t, pidfd)
	e.start()
	got := e.wait(run.Spec.ID)
	if got.Status != api.StatusCompleted {
		t.Fatalf("status %s reason %q", got.Status, got.Reason)
	}
}

// A shim killed while the runner watches it: the run fails at once.
func TestShimKilledWhileWatched(t *testing.T) {
	e := newEnv(t, map[string]testutil.Tree{"s": gated})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "gated.py"})
	e.waitForLine(run.Spec.ID, "ready")
	if err := syscall.Kill(e.shimIdentity(run.Dir).PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	got := e.wait(run.Spec.ID)
	if got.Status != api.StatusFailed || got.Reason != lostReason || got.ExitCode != nil {
		t.Fatalf("status %s reason %q code %v", got.Status, got.Reason, deref(got.ExitCode))
	}
}
