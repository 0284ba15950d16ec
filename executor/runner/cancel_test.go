//go:build linux

package runner

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/testutil"
)

// stubborn ignores SIGTERM and leaves behind a grandchild in a session of
// its own (also ignoring SIGTERM) and a double-forked daemon.
var stubborn = testutil.Tree{
	"stubborn.py": py(
		"import os, signal, subprocess, sys, time",
		"signal.signal(signal.SIGTERM, signal.SIG_IGN)",
		"subprocess.Popen([sys.executable, 'child.py'], start_new_session=True)",
		"if os.fork() == 0:",
		"    os.setsid()",
		"    if os.fork() == 0:",
		"        signal.signal(signal.SIGTERM, signal.SIG_IGN)",
		"        time.sleep(300)",
		"    os._exit(0)",
		"time.sleep(0.3)",
		"print('ready', flush=True)",
		"time.sleep(300)",
	),
	"child.py": py(
		"import signal, time",
		"signal.signal(signal.SIGTERM, signal.SIG_IGN)",
		"time.sleep(300)",
	),
}

func TestCancelKillsProcessTree(t *testing.T) {
	e := newEnv(t, map[string]testutil.Tree{"s": stubborn})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "stubborn.py"})
	e.waitForLine(run.Spec.ID, "ready")
	if n := len(runProcs(run.Spec.ID)); n < 3 {
		t.Fatalf("%d processes carry the run id before cancel, want at least 3", n)
	}
	start := time.Now()
	var canceled api.Run
	if code := e.do("POST", "/v1/runs/"+run.Spec.ID+"/cancel", nil, &canceled); code != http.StatusOK {
		t.Fatalf("cancel: %d", code)
	}
	got := e.wait(run.Spec.ID)
	if got.Status != api.StatusCanceled || !strings.HasPrefix(got.Reason, "killed (SIGKILL) after ignoring SIGTERM") || got.ExitCode != nil {
		t.Fatalf("status %s reason %q exit code %v, want Canceled, killed (SIGKILL), none", got.Status, got.Reason, got.ExitCode)
	}
	if took := time.Since(start); took < testKillGrace {
		t.Fatalf("a SIGTERM-ignoring script stopped after %v, before the grace period", took)
	}
	if left := runProcs(run.Spec.ID); len(left) > 0 {
		t.Fatalf("processes of the run survive cancel: %v", left)
	}
	// Idempotent on a terminal run.
	var again api.Run
	if code := e.do("POST", "/v1/runs/"+run.Spec.ID+"/cancel", nil, &again); code != http.StatusOK || again.Status != api.StatusCanceled {
		t.Fatalf("second cancel: %d %s", code, again.Status)
	}
}

// After a normal exit, processes the script left behind are killed too.
func TestLeftoversKilledAfterExit(t *testing.T) {
	e := newEnv(t, map[string]testutil.Tree{"s": {
		"a.py": py(
			"import subprocess, sys",
			"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'], start_new_session=True)",
			"print('bye')",
		),
	}})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "a.py"})
	got := e.wait(run.Spec.ID)
	if got.Status != api.StatusCompleted {
		t.Fatalf("status %s (%s)", got.Status, got.Reason)
	}
	if left := runProcs(run.Spec.ID); len(left) > 0 {
		t.Fatalf("leftover processes survive: %v", left)
	}
}

func TestMaxDuration(t *testing.T) {
	e := newEnv(t, map[string]testutil.Tree{"s": stubborn})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "stubborn.py", MaxDuration: 2 * time.Second})
	got := e.wait(run.Spec.ID)
	want := "exceeded max duration 2s; killed (SIGKILL) after ignoring SIGTERM for the " + testKillGrace.String() + " grace period"
	if got.Status != api.StatusFailed || got.Reason != want {
		t.Fatalf("status %s reason %q", got.Status, got.Reason)
	}
	if took := got.EndedAt.Sub(*got.StartedAt); took < 2*time.Second+testKillGrace {
		t.Fatalf("a SIGTERM-ignoring script stopped after %v", took)
	}
	if left := runProcs(run.Spec.ID); len(left) > 0 {
		t.Fatalf("processes of the run survive the time limit: %v", left)
	}
}

func TestCancelWhilePreparing(t *testing.T) {
	e := newEnv(t, nil)
	run := e.submit(api.RunSpec{Snapshot: "block", Script: "a.py"})
	if _, err := e.r.Cancel(t.Context(), run.Spec.ID); err != nil {
		t.Fatal(err)
	}
	got := e.wait(run.Spec.ID)
	if got.Status != api.StatusCanceled || got.StartedAt != nil || got.ExitCode != nil {
		t.Fatalf("status %s, started %v, exit code %v", got.Status, got.StartedAt, got.ExitCode)
	}
}

// A script that ends on SIGTERM (exit 143 to a shell) and one killed after
// the grace period both end Canceled with no exit code: one rule.
func TestCancelHasNoExitCode(t *testing.T) {
	e := newEnv(t, map[string]testutil.Tree{"s": {
		"a.py": py("import time", "print('ready', flush=True)", "time.sleep(300)"),
	}})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "a.py"})
	e.waitForLine(run.Spec.ID, "ready")
	if _, err := e.r.Cancel(t.Context(), run.Spec.ID); err != nil {
		t.Fatal(err)
	}
	got := e.wait(run.Spec.ID)
	if got.ExitCode != nil {
		t.Fatalf("status %s (%s), exit code %d; want Canceled with none", got.Status, got.Reason, *got.ExitCode)
	}
	if got.Status != api.StatusCanceled {
		t.Fatalf("status %s (%s), want Canceled", got.Status, got.Reason)
	}
}
