package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// noisyScript writes 100 MiB of seeded random bytes (invalid UTF-8, bare
// \r, NULs) mixed with \r progress bars, and the sha256 of what it wrote to
// outputs/sha256.
const noisyScript = `import hashlib, random, sys
rng = random.Random(1234)
h = hashlib.sha256()
out = sys.stdout.buffer
total = 0
while total < 100 << 20:
    chunk = rng.randbytes(65536) + ("\rprogress %d%%" % (total * 100 >> 20 >> 7)).encode() + b"\xff\xfe\r\n"
    out.write(chunk)
    h.update(chunk)
    total += len(chunk)
out.flush()
open("outputs/sha256", "w").write(h.hexdigest())
open("outputs/size", "w").write(str(total))
`

// TestRunLargeNoisyLogDetached: 100 MiB of binary noise written while
// nobody follows comes back byte for byte through ferry logs -f.
func TestRunLargeNoisyLogDetached(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"noise.py": noisyScript})
	id := runIDOf(t, c.mustRun(src, "run", "--detach", "noise.py").Stderr)

	h := sha256.New()
	cmd := c.command(t.Context(), src, "logs", "-f", id)
	var stderr strings.Builder
	cw := &countWriter{w: h}
	cmd.Stdout, cmd.Stderr = cw, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ferry logs -f: %v\n%s", err, stderr.String())
	}
	to := t.TempDir()
	c.mustRun(src, "download", id, "--to", to)
	want, _ := os.ReadFile(filepath.Join(to, "sha256"))
	size, _ := os.ReadFile(filepath.Join(to, "size"))
	if got := hex.EncodeToString(h.Sum(nil)); got != string(want) || strconv.FormatInt(cw.n, 10) != string(size) {
		t.Errorf("log: %d bytes sha256 %s; the script wrote %s bytes sha256 %s", cw.n, got, size, want)
	}
	if rec := c.show(id); rec.Status != "Completed" {
		t.Errorf("status %s (%s)", rec.Status, rec.Reason)
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.w.Write(p)
}

// numbersScript prints "n" for n in [0, N) with a pause between lines.
func numbersScript(n int, pause string) string {
	return fmt.Sprintf("import time\nfor i in range(%d):\n    print(i, flush=True)\n    time.sleep(%s)\n", n, pause)
}

func numbersLog(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%d\n", i)
	}
	return b.String()
}

// TestRunReattachAfterAgentKill: killing ferry run (SIGKILL, no chance to
// clean up) loses nothing; ferry logs -f shows the whole log once.
func TestRunReattachAfterAgentKill(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"n.py": numbersScript(150, "0.02")})
	lr := c.startRun(t, t.Context(), src, "n.py")
	if line, err := lr.stdout.ReadString('\n'); err != nil || line != "0\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	lr.cmd.Process.Signal(syscall.SIGKILL)
	lr.wait(t)
	r := c.mustRun(src, "logs", "-f", lr.id)
	if r.Stdout != numbersLog(150) {
		t.Errorf("reattached log is not the whole log once:\n%q", r.Stdout)
	}
	if rec := c.show(lr.id); rec.Status != "Completed" {
		t.Errorf("status %s", rec.Status)
	}
}

// TestRunCtrlCDetaches: Ctrl-C (SIGINT to ferry run's process group, on a
// cold FERRY_HOME so that this ferry started the executor) detaches at
// once, says how to reattach and cancel, and the run goes on to complete.
func TestRunCtrlCDetaches(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"n.py": numbersScript(100, "0.02")})
	lr := c.startRun(t, t.Context(), src, "n.py")
	if _, err := lr.stdout.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	syscall.Kill(-lr.cmd.Process.Pid, syscall.SIGINT) // as Ctrl-C does: the whole foreground group
	_, code, stderr := lr.wait(t)
	if took := time.Since(sent); code != 130 || took > 3*time.Second {
		t.Errorf("after SIGINT: exit %d after %s, want 130 at once", code, took)
	}
	for _, want := range []string{"ferry logs -f " + lr.id, "ferry cancel " + lr.id} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	r := c.mustRun(src, "logs", "-f", lr.id)
	if r.Stdout != numbersLog(100) {
		t.Errorf("log after detach: %q", r.Stdout)
	}
	if rec := c.show(lr.id); rec.Status != "Completed" {
		t.Errorf("status %s", rec.Status)
	}
}

// stubbornScript ignores SIGTERM and leaves a grandchild in its own session.
const stubbornScript = `import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pid = os.fork()
if pid == 0:
    os.setsid()
    time.sleep(300)
    os._exit(0)
print("grandchild", pid, flush=True)
time.sleep(300)
`

// TestRunCancelKillsEverything: cancel ends a script that ignores SIGTERM
// and its grandchild that escaped into its own session.
func TestRunCancelKillsEverything(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"s.py": stubbornScript})
	lr := c.startRun(t, t.Context(), src, "s.py")
	line, err := lr.stdout.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "grandchild ") {
		t.Fatalf("first line %q, %v", line, err)
	}
	gpid, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "grandchild ")))
	if !processAlive(gpid) {
		t.Fatalf("grandchild %d is not running", gpid)
	}
	sent := time.Now()
	r := c.mustRun(src, "cancel", lr.id)
	if !strings.Contains(r.Stdout, lr.id) {
		t.Errorf("cancel says %q", r.Stdout)
	}
	_, code, stderr := lr.wait(t)
	if took := time.Since(sent); code == 0 || took > 15*time.Second {
		t.Errorf("ferry run exit %d %s after cancel; stderr:\n%s", code, took, stderr)
	}
	if rec := c.show(lr.id); rec.Status != "Canceled" {
		t.Errorf("status %s (%s), want Canceled", rec.Status, rec.Reason)
	}
	if processAlive(gpid) {
		syscall.Kill(gpid, syscall.SIGKILL)
		t.Errorf("grandchild %d survived the cancel", gpid)
	}
}

// TestRunMaxDuration: a run past --max-duration fails and says why.
func TestRunMaxDuration(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"z.py": "import time\ntime.sleep(60)\n"})
	start := time.Now()
	r := c.run(src, "run", "--max-duration", "2s", "z.py")
	if r.Code == 0 || time.Since(start) > 20*time.Second {
		t.Errorf("exit %d after %s", r.Code, time.Since(start))
	}
	rec := c.show(runIDOf(t, r.Stderr))
	if rec.Status != "Failed" || !strings.Contains(rec.Reason, "max duration") || !strings.Contains(r.Stderr, "max duration 2s") {
		t.Errorf("status %s reason %q; stderr:\n%s", rec.Status, rec.Reason, r.Stderr)
	}
}

// TestRunSurvivesExecutorRestart: the executor daemon dying mid-run loses
// nothing. Whoever follows (ferry run, or ferry logs -f on a detached run)
// starts the executor again and goes on; the run completes with its whole
// log, and a later ferry logs -f shows it once more.
func TestRunSurvivesExecutorRestart(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"n.py": numbersScript(100, "0.03")})
	for _, detach := range []bool{false, true} {
		t.Run(fmt.Sprintf("detach=%v", detach), func(t *testing.T) {
			follower, id := startFollower(t, c, src, detach)
			if line, err := follower.stdout.ReadString('\n'); err != nil || line != "0\n" {
				t.Fatalf("first line %q, %v", line, err)
			}
			killAll(t, "serve --state-dir "+filepath.Join(c.home, "local")+" ")
			rest, code, stderr := follower.wait(t)
			if code != 0 || "0\n"+rest != numbersLog(100) {
				t.Errorf("follower across the executor restart: exit %d, stdout after the first line %q; stderr:\n%s", code, rest, stderr)
			}
			r := c.mustRun(src, "logs", "-f", id)
			if r.Stdout != numbersLog(100) {
				t.Errorf("log after executor restart: %q", r.Stdout)
			}
			if rec := c.show(id); rec.Status != "Completed" {
				t.Errorf("status %s (%s)", rec.Status, rec.Reason)
			}
		})
	}
}

// startFollower starts `ferry run n.py`, or `ferry run --detach n.py` and
// then `ferry logs -f`, and returns the following process and the run id.
func startFollower(t *testing.T, c *cli, src string, detach bool) (*liveRun, string) {
	t.Helper()
	if !detach {
		lr := c.startRun(t, t.Context(), src, "n.py")
		return lr, lr.id
	}
	id := runIDOf(t, c.mustRun(src, "run", "--detach", "n.py").Stderr)
	return c.start(t, t.Context(), src, "logs", "-f", id), id
}

// TestRunShimKilled: a run whose supervisor was killed is Failed with a
// reason after the executor restarts, never Completed, and its script does
// not run on unsupervised.
func TestRunShimKilled(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"shimkill.py": numbersScript(100, "0.05")})
	lr := c.startRun(t, t.Context(), src, "shimkill.py")
	if _, err := lr.stdout.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	killAll(t, "shim --run-dir "+filepath.Join(c.home, "local", "runs", lr.id)+" ")
	killAll(t, "serve --state-dir "+filepath.Join(c.home, "local")+" ")
	lr.wait(t)
	r := c.run(src, "logs", "-f", lr.id)
	rec := c.show(lr.id)
	if r.Code == 0 || rec.Status != "Failed" || rec.Reason == "" {
		t.Errorf("logs -f exit %d; status %s reason %q", r.Code, rec.Status, rec.Reason)
	}
	if pids := pidsMatching(t, "python3 shimkill.py"); len(pids) > 0 {
		t.Errorf("the script goes on without its shim: pids %v", pids)
	}
}
