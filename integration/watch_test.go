package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// watchSeparator opens each iteration of ferry watch on stderr.
const watchSeparator = "──── ferry watch: run "

// liveWatch is a running `ferry watch` whose output lines arrive on
// channels, so tests wait for events rather than sleep.
type liveWatch struct {
	cmd    *exec.Cmd
	stdout chan string
	stderr chan string
	errLog *strings.Builder // every stderr line so far (for failure messages)
	done   chan struct{}
	code   int
}

// startWatch starts ferry watch in dir with args.
func (c *cli) startWatch(t *testing.T, dir string, args ...string) *liveWatch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	cmd := c.command(ctx, dir, append([]string{"watch"}, args...)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errp, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &liveWatch{cmd: cmd, stdout: make(chan string, 1000), stderr: make(chan string, 1000),
		errLog: &strings.Builder{}, done: make(chan struct{})}
	outDone, errDone := lines(out, w.stdout, nil), lines(errp, w.stderr, w.errLog)
	go func() {
		<-outDone
		<-errDone
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			w.code = ee.ExitCode()
		}
		close(w.done)
	}()
	t.Cleanup(func() {
		w.interrupt()
		select {
		case <-w.done:
		case <-time.After(40 * time.Second):
			cmd.Process.Kill()
		}
		cancel()
	})
	return w
}

// lines sends r's lines to ch (and logs them into log, if not nil); the
// returned channel is closed at EOF.
func lines(r io.Reader, ch chan<- string, log *strings.Builder) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if log != nil {
				log.WriteString(sc.Text() + "\n")
			}
			ch <- sc.Text()
		}
	}()
	return done
}

func (w *liveWatch) interrupt() { _ = w.cmd.Process.Signal(os.Interrupt) }

// expect waits for a line containing substr on ch and returns it.
func (w *liveWatch) expect(t *testing.T, ch <-chan string, substr string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("ferry watch ended before printing %q; stderr:\n%s", substr, w.errLog)
			}
			if strings.Contains(l, substr) {
				return l
			}
		case <-deadline:
			t.Fatalf("no line with %q within %s; stderr:\n%s", substr, timeout, w.errLog)
		}
	}
}

// expectRun waits for iteration n to start and end, and returns its
// separator line and how it ended ("Completed", "Canceled", ...).
func (w *liveWatch) expectRun(t *testing.T, n int) (string, string) {
	t.Helper()
	sep := w.expect(t, w.stderr, fmt.Sprintf("%s%d ", watchSeparator, n), 60*time.Second)
	end := w.expect(t, w.stderr, "ferry: run ", 60*time.Second)
	return sep, strings.Fields(end)[3]
}

// quiet asserts that no new iteration starts within d.
func (w *liveWatch) quiet(t *testing.T, d time.Duration, why string) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case l, ok := <-w.stderr:
			if !ok {
				t.Fatalf("%s: ferry watch ended; stderr:\n%s", why, w.errLog)
			}
			if strings.Contains(l, watchSeparator) {
				t.Fatalf("%s: unexpected rerun: %s\nstderr:\n%s", why, l, w.errLog)
			}
		case <-deadline:
			return
		}
	}
}

// stop interrupts ferry watch and returns its exit status.
func (w *liveWatch) stop(t *testing.T) int {
	t.Helper()
	w.interrupt()
	select {
	case <-w.done:
	case <-time.After(40 * time.Second):
		t.Fatalf("ferry watch did not stop on SIGINT; stderr:\n%s", w.errLog)
	}
	return w.code
}

// runsOf returns `ferry runs --json` for an experiment, newest first.
func (c *cli) runsOf(t *testing.T, experiment string) []runRecord {
	t.Helper()
	r := c.mustRun("", "runs", "--experiment", experiment, "--json")
	var runs []runRecord
	if err := json.Unmarshal([]byte(r.Stdout), &runs); err != nil {
		t.Fatalf("decode runs: %v\n%s", err, r.Stdout)
	}
	return runs
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-C", dir}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// saves are the ways editors and tools write train.py; each must give
// exactly one rerun.
var saves = []struct {
	name string
	save func(t *testing.T, dir, content string)
}{
	{"plain overwrite", func(t *testing.T, dir, content string) { writeFile(t, filepath.Join(dir, "train.py"), content) }},
	{"vim with backup", func(t *testing.T, dir, content string) {
		p := filepath.Join(dir, "train.py")
		writeFile(t, filepath.Join(dir, ".train.py.swp"), "swap "+content) // vim rewrites its swap file
		writeFile(t, filepath.Join(dir, "4913"), "")                       // writability probe
		must(t, os.Remove(filepath.Join(dir, "4913")))
		must(t, os.Rename(p, p+"~"))
		writeFile(t, p, content)
		must(t, os.Chmod(p, 0o644))
		must(t, os.Remove(p+"~"))
	}},
	{"rename over (VS Code, JetBrains)", func(t *testing.T, dir, content string) {
		tmp := filepath.Join(dir, ".train.py.tmp")
		writeFile(t, tmp, content)
		must(t, os.Rename(tmp, filepath.Join(dir, "train.py")))
	}},
	{"sed -i", func(t *testing.T, dir, content string) {
		first := strings.SplitN(content, "\n", 2)[0]
		cmd := exec.Command("sed", "-i", "1s/.*/"+first+"/", filepath.Join(dir, "train.py"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sed: %v\n%s", err, out)
		}
	}},
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestWatchSavePatterns: each way of saving gives exactly one rerun, with
// the new content; ignored files, touches and scratch files give none; a
// new directory with a file inside gives one; a git checkout of 200 files
// gives one; the watched tree disappearing ends ferry watch with status 1.
func TestWatchSavePatterns(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	testutil.RequireCommand(t, "git")
	c := newCLI(t)
	dir := sourceDir(t, testutil.Tree{
		"train.py":   "print('v0', flush=True)\n",
		".gitignore": "*.log\ndata/\n",
	})
	gitBranches200(t, dir)
	w := c.startWatch(t, dir, "train.py")
	w.expect(t, w.stdout, "v0", 60*time.Second)
	if _, end := w.expectRun(t, 1); end != "Completed" {
		t.Fatalf("first run ended %s", end)
	}
	n := 1
	for i, s := range saves {
		content := fmt.Sprintf("print('save%d', flush=True)\n", i)
		s.save(t, dir, content)
		n++
		sep, end := w.expectRun(t, n)
		if !strings.Contains(sep, "1 file changed: train.py") || end != "Completed" {
			t.Fatalf("%s: separator %q, ended %s", s.name, sep, end)
		}
		w.expect(t, w.stdout, fmt.Sprintf("save%d", i), 10*time.Second)
		w.quiet(t, time.Second, s.name)
	}

	writeFile(t, filepath.Join(dir, "train.log"), "ignored")
	writeFile(t, filepath.Join(dir, "data", "big.bin"), "ignored dir")
	w.quiet(t, time.Second, "ignored files")
	now := time.Now().Add(time.Second)
	must(t, os.Chtimes(filepath.Join(dir, "train.py"), now, now))
	w.quiet(t, time.Second, "touch")
	writeFile(t, filepath.Join(dir, "train.py~"), "backup")
	w.quiet(t, time.Second, "scratch file")

	lib := filepath.Join(t.TempDir(), "lib")
	writeFile(t, filepath.Join(lib, "sub", "x.py"), "X = 1\n")
	must(t, os.Rename(lib, filepath.Join(dir, "lib"))) // a directory arriving with content inside
	n++
	if sep, _ := w.expectRun(t, n); !strings.Contains(sep, "lib/sub/x.py") {
		t.Fatalf("new directory: separator %q", sep)
	}
	w.quiet(t, time.Second, "new directory")
	writeFile(t, filepath.Join(dir, "lib", "sub", "y.py"), "Y = 1\n") // watched inside it now
	n++
	if sep, _ := w.expectRun(t, n); !strings.Contains(sep, "lib/sub/y.py") {
		t.Fatalf("file in new directory: separator %q", sep)
	}

	gitIn(t, dir, "checkout", "-q", "other")
	n++
	if sep, _ := w.expectRun(t, n); !strings.Contains(sep, "200 files changed") {
		t.Fatalf("git checkout: separator %q", sep)
	}
	w.quiet(t, time.Second, "git checkout")

	if runs := c.runsOf(t, filepath.Base(dir)+"-watch"); len(runs) != n {
		t.Fatalf("history holds %d runs, want %d", len(runs), n)
	}
	must(t, os.RemoveAll(dir))
	w.expect(t, w.stderr, "disappeared", 10*time.Second)
	<-w.done
	if w.code != 1 {
		t.Fatalf("exit status %d after the source vanished, want 1", w.code)
	}
}

// gitBranches200 commits 200 files on branch main and changes them all on
// branch other, leaving main checked out.
func gitBranches200(t *testing.T, dir string) {
	t.Helper()
	gitIn(t, dir, "init", "-q", "-b", "main")
	for i := range 200 {
		writeFile(t, filepath.Join(dir, "gen", fmt.Sprintf("f%03d.py", i)), "A\n")
	}
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-q", "-m", "a")
	gitIn(t, dir, "checkout", "-q", "-b", "other")
	for i := range 200 {
		writeFile(t, filepath.Join(dir, "gen", fmt.Sprintf("f%03d.py", i)), "B\n")
	}
	gitIn(t, dir, "commit", "-q", "-am", "b")
	gitIn(t, dir, "checkout", "-q", "main")
}

// longScript prints its version, then sleeps for secs before saying done.
func longScript(version string, secs float64) string {
	return fmt.Sprintf("import time\nprint('start %s', flush=True)\ntime.sleep(%g)\nprint('done %s', flush=True)\n", version, secs, version)
}

// TestWatchOnChangeCancel: a change cancels the run in flight (Canceled in
// the history) and starts the new one; Ctrl-C cancels the one in flight.
func TestWatchOnChangeCancel(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	dir := sourceDir(t, testutil.Tree{"train.py": longScript("v1", 60)})
	w := c.startWatch(t, dir, "train.py")
	w.expect(t, w.stdout, "start v1", 60*time.Second)
	writeFile(t, filepath.Join(dir, "train.py"), longScript("v2", 60))
	if end := w.expect(t, w.stderr, "ferry: run ", 30*time.Second); !strings.Contains(end, "Canceled") {
		t.Fatalf("first run ended: %s", end)
	}
	w.expect(t, w.stderr, watchSeparator+"2 ", 10*time.Second)
	w.expect(t, w.stdout, "start v2", 60*time.Second)
	if code := w.stop(t); code != 130 {
		t.Fatalf("exit status %d after Ctrl-C, want 130", code)
	}
	runs := c.runsOf(t, filepath.Base(dir)+"-watch")
	if len(runs) != 2 || runs[0].Status != "Canceled" || runs[1].Status != "Canceled" {
		t.Fatalf("runs %+v: want two, both Canceled", runs)
	}
}

// TestWatchOnChangeQueue: ten quick saves during a run let it finish, then
// give exactly one new run, of the last content.
func TestWatchOnChangeQueue(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	dir := sourceDir(t, testutil.Tree{"train.py": longScript("v0", 3)})
	w := c.startWatch(t, dir, "--on-change", "queue", "train.py")
	w.expect(t, w.stdout, "start v0", 60*time.Second)
	for i := 1; i <= 10; i++ {
		writeFile(t, filepath.Join(dir, "train.py"), longScript(fmt.Sprintf("v%d", i), 0))
		time.Sleep(20 * time.Millisecond) // a person saving quickly, not a wait for an event
	}
	if end := w.expect(t, w.stderr, "ferry: run ", 30*time.Second); !strings.Contains(end, "Completed") {
		t.Fatalf("first run ended: %s", end)
	}
	w.expect(t, w.stdout, "done v0", time.Second)
	sep, end := w.expectRun(t, 2)
	if end != "Completed" || !strings.Contains(sep, "train.py") {
		t.Fatalf("second run: %q ended %s", sep, end)
	}
	if l := w.expect(t, w.stdout, "start ", 5*time.Second); l != "start v10" {
		t.Fatalf("second run printed %q, want the last content (start v10)", l)
	}
	w.quiet(t, 1500*time.Millisecond, "queued saves")
	if runs := c.runsOf(t, filepath.Base(dir)+"-watch"); len(runs) != 2 {
		t.Fatalf("history holds %d runs, want 2", len(runs))
	}
}

// TestWatchSSH: on a real sshd, a save reruns over the same connection.
func TestWatchSSH(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	c := newCLI(t)
	c.attachSSHD("box", s)
	dir := sourceDir(t, testutil.Tree{"train.py": "print('ssh v1', flush=True)\n", "lib/x.py": "X = 1\n"})
	w := c.startWatch(t, dir, "--compute", "box", "train.py")
	w.expect(t, w.stdout, "ssh v1", 60*time.Second)
	w.expectRun(t, 1)
	writeFile(t, filepath.Join(dir, "train.py"), "print('ssh v2', flush=True)\n")
	writeFile(t, filepath.Join(dir, "lib", "x.py"), "X = 2\n")
	sep, end := w.expectRun(t, 2)
	if end != "Completed" || !strings.Contains(sep, "2 files changed: lib/x.py, train.py") {
		t.Fatalf("second run: %q ended %s", sep, end)
	}
	w.expect(t, w.stdout, "ssh v2", 5*time.Second)
	w.quiet(t, time.Second, "ssh save")
	if n := strings.Count(s.Log(), "Accepted publickey"); n != 2 {
		t.Fatalf("sshd accepted %d logins, want 2 (compute attach, then one for the whole watch)", n)
	}
}
