package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// runRecord is the part of `ferry show --json` / `ferry runs --json` the
// run tests look at.
type runRecord struct {
	ID         string          `json:"id"`
	Status     string          `json:"status"`
	ExitCode   *int            `json:"exit_code"`
	Reason     string          `json:"reason"`
	Compute    string          `json:"compute"`
	Experiment string          `json:"experiment"`
	CreatedAt  string          `json:"created_at"`
	Metrics    []runMetric     `json:"metrics"`
	Raw        json.RawMessage `json:"-"`
}

type runMetric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Step  *int64  `json:"step"`
}

// sourceDir writes tree into a fresh short source directory.
func sourceDir(t *testing.T, tree testutil.Tree) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "src")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	testutil.WriteTree(t, dir, tree)
	return dir
}

// runIDOf returns the run id from ferry run's first stderr line
// ("ferry: run ID on COMPUTE").
func runIDOf(t *testing.T, stderr string) string {
	t.Helper()
	first, _, _ := strings.Cut(stderr, "\n")
	f := strings.Fields(first)
	if len(f) < 3 || f[0] != "ferry:" || f[1] != "run" {
		t.Fatalf("first stderr line %q does not name the run; stderr:\n%s", first, stderr)
	}
	return f[2]
}

// show returns `ferry show --json id`.
func (c *cli) show(id string) runRecord {
	c.t.Helper()
	r := c.mustRun("", "show", "--json", id)
	var rec runRecord
	if err := json.Unmarshal([]byte(r.Stdout), &rec); err != nil {
		c.t.Fatalf("ferry show --json %s: %v\n%s", id, err, r.Stdout)
	}
	rec.Raw = json.RawMessage(r.Stdout)
	return rec
}

// exitOf returns rec's exit code, or -1 when there is none.
func exitOf(rec runRecord) int {
	if rec.ExitCode == nil {
		return -1
	}
	return *rec.ExitCode
}

// liveRun is a ferry process running in the background.
type liveRun struct {
	cmd      *exec.Cmd
	stdout   *bufio.Reader
	id       string
	stderr   *lockedText
	errDone  chan struct{}
	firstErr chan string // stderr's first line; closed if there is none
}

// startRun starts `ferry run args...` in the background with stdout piped;
// the run id is read from the first stderr line as soon as it appears.
func (c *cli) startRun(t *testing.T, ctx context.Context, dir string, args ...string) *liveRun {
	t.Helper()
	lr := c.start(t, ctx, dir, append([]string{"run"}, args...)...)
	select {
	case line, ok := <-lr.firstErr:
		if !ok {
			t.Fatalf("ferry run %v wrote nothing to stderr", args)
		}
		lr.id = runIDOf(t, line)
	case <-time.After(30 * time.Second):
		t.Fatalf("no run id on stderr of ferry run %v", args)
	}
	return lr
}

// start starts ferry with args in the background, stdout piped.
func (c *cli) start(t *testing.T, ctx context.Context, dir string, args ...string) *liveRun {
	t.Helper()
	cmd := c.command(ctx, dir, args...)
	// Its own process group, like a foreground job in a terminal: Ctrl-C
	// there signals the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lr := &liveRun{cmd: cmd, stdout: bufio.NewReader(out), stderr: &lockedText{}}
	ids := make(chan string, 1)
	errDone := make(chan struct{})
	go func() {
		defer close(errDone)
		br := bufio.NewReader(errPipe)
		first := true
		for {
			line, err := br.ReadString('\n')
			lr.stderr.WriteString(line)
			if first && line != "" {
				ids <- line
				first = false
			}
			if err != nil {
				if first {
					close(ids)
				}
				return
			}
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	lr.errDone, lr.firstErr = errDone, ids
	return lr
}

// wait drains stdout and waits for the process; it returns stdout's rest,
// the exit code and stderr.
func (lr *liveRun) wait(t *testing.T) (string, int, string) {
	t.Helper()
	rest, _ := io.ReadAll(lr.stdout)
	<-lr.errDone
	err := lr.cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("wait ferry run: %v", err)
	}
	return string(rest), code, lr.stderr.String()
}

// lockedText is a strings.Builder that one goroutine writes while
// another reads it.
type lockedText struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedText) WriteString(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
}

func (l *lockedText) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// pidsMatching returns the pids of processes whose command line matches
// pattern (pgrep -f).
func pidsMatching(t *testing.T, pattern string) []int {
	t.Helper()
	out, _ := exec.Command("pgrep", "-f", "--", pattern).Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killAll SIGKILLs every process whose command line matches pattern and
// waits until they are gone; it fails the test when none matched.
func killAll(t *testing.T, pattern string) {
	t.Helper()
	pids := pidsMatching(t, pattern)
	if len(pids) == 0 {
		t.Fatalf("no process matches %q", pattern)
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for processAlive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("pid %d (%s) survived SIGKILL", pid, pattern)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
