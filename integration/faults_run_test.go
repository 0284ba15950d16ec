package integration

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/internal/testutil/fakeconda"
)

// Faults of the run and of the executor on a remote target, through ferry
// and a real sshd: each ends in an honest status and loses nothing.

// TestFaultExecutorKilled: the executor daemon on the target is SIGKILLed
// mid-run. The run itself goes on (its shim does not depend on the
// daemon). A follower starts the executor again and prints the rest of
// the log once; a run that ended while no executor was up is found
// Completed, with its whole log, once one starts again. No run stays
// Running.
func TestFaultExecutorKilled(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	ft := attachFault(t, c, testutil.SSHDOptions{}, false)
	daemon := "serve --state-dir " + ft.state + " "
	src := sourceDir(t, testutil.Tree{"exekill.py": numbersScript(60, "0.05")})

	t.Run("followed", func(t *testing.T) {
		lr := c.startRun(t, t.Context(), src, "--compute", "box", "exekill.py")
		if line, err := lr.stdout.ReadString('\n'); err != nil || line != "0\n" {
			t.Fatalf("first line %q, %v", line, err)
		}
		killAll(t, daemon)
		rest, code, stderr := lr.wait(t)
		if code != 0 || "0\n"+rest != numbersLog(60) {
			t.Errorf("ferry run across the executor's death: exit %d, rest %q\nstderr:\n%s", code, rest, stderr)
		}
		if rec := c.show(lr.id); rec.Status != "Completed" {
			t.Errorf("status %s (%s), want Completed", rec.Status, rec.Reason)
		}
	})

	t.Run("ended while down", func(t *testing.T) {
		id := runIDOf(t, c.mustRun(src, "run", "--compute", "box", "--detach", "exekill.py").Stderr)
		killAll(t, daemon)
		waitNoProcess(t, "python3 exekill.py", 30*time.Second) // the script ends with no executor up
		r := c.run(src, "logs", "-f", id)
		if r.Code != 0 || r.Stdout != numbersLog(60) {
			t.Errorf("logs -f after the executor died: exit %d stdout %q\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
		}
		if rec := c.show(id); rec.Status != "Completed" || exitOf(rec) != 0 {
			t.Errorf("status %s exit %d (%s), want Completed 0", rec.Status, exitOf(rec), rec.Reason)
		}
	})
}

// waitNoProcess waits until no process matches pattern.
func waitNoProcess(t *testing.T, pattern string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for len(pidsMatching(t, pattern)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%q still running after %s", pattern, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestFaultKilledScript: a script killed by SIGKILL (as the kernel's
// out-of-memory killer does), and one that exits 137 (as a wrapper
// whose child was OOM-killed does), end Failed with exit code 137, and
// ferry says that this is what a SIGKILL, likely out of memory, looks
// like.
func TestFaultKilledScript(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	attachFault(t, c, testutil.SSHDOptions{}, false)
	src := sourceDir(t, testutil.Tree{
		"kill.py": "import os\nprint('big alloc', flush=True)\nos.kill(os.getpid(), 9)\n",
		"exit.py": "import sys\nprint('wrapper', flush=True)\nsys.exit(137)\n",
	})
	for _, script := range []string{"kill.py", "exit.py"} {
		t.Run(script, func(t *testing.T) {
			r := c.run(src, "run", "--compute", "box", script)
			if r.Code != 137 {
				t.Fatalf("exit %d, want 137\nstderr:\n%s", r.Code, r.Stderr)
			}
			rec := c.show(runIDOf(t, r.Stderr))
			if rec.Status != "Failed" || exitOf(rec) != 137 {
				t.Errorf("show: %s exit %d, want Failed 137", rec.Status, exitOf(rec))
			}
			end := lastLine(r.Stderr)
			for _, want := range []string{"SIGKILL", "out of memory"} {
				if !strings.Contains(rec.Reason, want) || !strings.Contains(end, want) {
					t.Errorf("reason %q / last line %q lack %q", rec.Reason, end, want)
				}
			}
		})
	}
}

// TestFaultScriptIgnoresSIGTERM: a remote script that ignores SIGTERM (and
// leaves a grandchild in a session of its own) is canceled: after the
// grace period it is SIGKILLed, the run is Canceled with a reason that
// says so, ferry run exits 143, and no process of the run is left.
func TestFaultScriptIgnoresSIGTERM(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	attachFault(t, c, testutil.SSHDOptions{}, false)
	src := sourceDir(t, testutil.Tree{"faultstub.py": stubbornScript})
	lr := c.startRun(t, t.Context(), src, "--compute", "box", "faultstub.py")
	if line, err := lr.stdout.ReadString('\n'); err != nil || !strings.HasPrefix(line, "grandchild ") {
		t.Fatalf("first line %q, %v", line, err)
	}
	sent := time.Now()
	c.mustRun(src, "cancel", lr.id)
	_, code, stderr := lr.wait(t)
	took := time.Since(sent)
	if code != 143 || took > 30*time.Second {
		t.Errorf("ferry run after cancel: exit %d after %s, want 143 after the grace period\nstderr:\n%s", code, took, stderr)
	}
	rec := c.show(lr.id)
	if rec.Status != "Canceled" || rec.ExitCode != nil || !strings.Contains(rec.Reason, "SIGKILL") {
		t.Errorf("show: %s exit %d reason %q, want Canceled, no exit code, and a reason naming the SIGKILL", rec.Status, exitOf(rec), rec.Reason)
	}
	if pids := pidsMatching(t, "python3 faultstub.py"); len(pids) > 0 {
		t.Errorf("processes of the canceled run left: %v", pids)
	}
}

// TestFaultOOMKilledInDocker: a docker run that exceeds its memory limit
// (--memory 64m) is killed by the kernel's OOM killer. The run is Failed
// with exit code 137, and, as Docker reports the OOM kill, the reason
// says so without a question mark.
func TestFaultOOMKilledInDocker(t *testing.T) {
	requireDockerImage(t)
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"oom.py": "print('allocating', flush=True)\nb = bytearray(400 << 20)\nfor i in range(0, len(b), 4096):\n    b[i] = 1\nprint('survived')\n"})
	r := c.run(src, "run", "--docker-image", dockerBaseImage, "--docker-arg=--memory=64m", "oom.py")
	if r.Code != 137 || strings.Contains(r.Stdout, "survived") {
		t.Fatalf("exit %d, want 137\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	rec := c.show(runIDOf(t, r.Stderr))
	want := "killed by the kernel's OOM killer: out of memory (exit 137)"
	if rec.Status != "Failed" || exitOf(rec) != 137 || rec.Reason != want || !strings.Contains(lastLine(r.Stderr), want) {
		t.Errorf("show: %s exit %d reason %q (last line %q), want Failed 137 %q", rec.Status, exitOf(rec), rec.Reason, lastLine(r.Stderr), want)
	}
}

// TestFaultExecutorKilledDuringBuild: the executor is SIGKILLed while it
// builds a run's conda environment (the fakeconda stand-in, slowed down).
// The follower starts it again and the run ends Failed with a reason
// that says so (in its log, too), never stuck in Preparing; the next run
// of the same environment completes.
func TestFaultExecutorKilledDuringBuild(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	calls := filepath.Join(shortDir(t), "fakeconda.log")
	ft := attachFault(t, c, testutil.SSHDOptions{ExtraConfig: []string{
		"SetEnv FERRY_CONDA_TOOL=" + filepath.Join(fakeconda.Dir(), "micromamba") + " FAKECONDA_DELAY=4 FAKECONDA_LOG=" + calls,
	}}, false)
	src := sourceDir(t, testutil.Tree{"env.yml": "name: slow\ndependencies:\n- python=3.11\n", "t.py": "print('ran')\n"})
	lr := c.startRun(t, t.Context(), src, "--compute", "box", "--conda-file", "env.yml", "t.py")
	for {
		line, err := lr.stdout.ReadString('\n')
		if err != nil {
			t.Fatalf("no build output before EOF\nstderr:\n%s", lr.stderr.String())
		}
		if strings.Contains(line, "fakeconda: solving environment") {
			break
		}
	}
	killAll(t, "serve --state-dir "+ft.state+" ")
	rest, code, stderr := lr.wait(t)
	rec := c.show(lr.id)
	// ferry run says "the reason is in the log above": it must be.
	if code == 0 || rec.Status != "Failed" || !strings.Contains(rec.Reason, "executor stopped") || !strings.Contains(rest, rec.Reason) {
		t.Errorf("run whose executor died mid-build: exit %d, %s (%s), want Failed saying the executor stopped, in the log too\nstdout after the kill: %q\nstderr:\n%s", code, rec.Status, rec.Reason, rest, stderr)
	}
	r := c.run(src, "run", "--compute", "box", "--conda-file", "env.yml", "t.py")
	if r.Code != 0 || !strings.Contains(r.Stdout, "ran\n") {
		t.Errorf("next run: exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
}
