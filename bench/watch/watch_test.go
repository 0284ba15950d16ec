package watch

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

func BenchmarkWatchLatencyLocal(b *testing.B) { benchWatch(b, false) }
func BenchmarkWatchLatencySSH(b *testing.B)   { benchWatch(b, true) }

func benchWatch(b *testing.B, ssh bool) {
	bin := testutil.Binaries(b)
	tree := standardTree(b)
	home, _ := os.MkdirTemp("", "wb")
	b.Cleanup(func() { os.RemoveAll(home) })
	// The executors this starts exit a minute after the benchmark, not 30.
	env := append(os.Environ(), "FERRY_HOME="+home, "FERRY_EXECUTOR_DIR="+bin, "FERRY_EXECUTOR_IDLE_TIMEOUT=1m")
	args := []string{"watch", "--source", tree}
	if py := os.Getenv("PYTHON"); py != "" { // the interpreter's start is part of every save
		args = append(args, "--python", py)
	}
	runsDir := filepath.Join(home, "local", "runs") // the target's run directories
	if ssh {
		s := testutil.StartSSHD(b, testutil.SSHDOptions{})
		state, _ := os.MkdirTemp("", "ws")
		b.Cleanup(func() { os.RemoveAll(state) })
		runsDir = filepath.Join(state, "runs")
		attach := exec.Command(filepath.Join(bin, "ferry"), "compute", "attach", "box", "--address", s.Host,
			"--port", strconv.Itoa(s.Port), "--username", s.User, "--private-key", s.KeyFile,
			"--known-hosts", s.KnownHosts, "--state-dir", state)
		attach.Env = env
		if out, err := attach.CombinedOutput(); err != nil {
			b.Fatalf("attach: %v\n%s", err, out)
		}
		args = append(args, "--compute", "box")
	}
	script := filepath.Join(tree, "watchbench.py")
	write := func(i int) { os.WriteFile(script, fmt.Appendf(nil, "print('iteration %d', flush=True)\n", i), 0o644) }
	write(0)
	b.Cleanup(func() { os.Remove(script) })

	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "ferry"), append(args, "watchbench.py")...)
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.Stderr = os.Stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }() // Ctrl-C, then wait for it to stop watching
	lines := bufio.NewScanner(out)
	waitFor := func(s string) time.Time {
		for lines.Scan() {
			if lines.Text() == s {
				return time.Now()
			}
		}
		b.Fatalf("ferry watch ended before %q", s)
		return time.Time{}
	}
	waitFor("iteration 0")
	n := 20
	if v, err := strconv.Atoi(os.Getenv("ITERATIONS")); err == nil {
		n = v
	}
	var lat []time.Duration
	for i := 1; i <= n; i++ {
		time.Sleep(700 * time.Millisecond) // let the previous run end: this measures a save, not a cancel
		t0 := time.Now()
		write(i)
		lat = append(lat, waitFor(fmt.Sprintf("iteration %d", i)).Sub(t0))
	}
	slices.Sort(lat)
	p50, p90 := lat[len(lat)/2], lat[len(lat)*9/10]
	b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
	b.ReportMetric(float64(p90.Milliseconds()), "p90-ms")
	b.Logf("save -> first output line over %d saves: p50 %s, p90 %s, min %s, max %s (all: %v)",
		n, p50, p90, lat[0], lat[len(lat)-1], lat)
	time.Sleep(time.Second) // the last run ends, the watch deletes what --keep-runs does not keep
	dirs, size := du(runsDir)
	b.ReportMetric(float64(dirs), "run-dirs")
	b.ReportMetric(float64(size)/(1<<20), "runs-MiB")
	b.Logf("on the target after %d runs: %d run directories, %d MiB", n+1, dirs, size>>20)
}

// du counts the directories in dir and the bytes of the regular files
// under it.
func du(dir string) (dirs int, size int64) {
	ents, _ := os.ReadDir(dir)
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	return len(ents), size
}

// standardTree returns .bench/watchtree (a copy of its own: other
// benchmarks edit .bench/tree), generating it first if needed.
func standardTree(b *testing.B) string {
	root, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	tree := filepath.Join(root, ".bench", "watchtree")
	if _, err := os.Stat(filepath.Join(root, ".bench", "watchtree.done")); err == nil {
		return tree
	}
	os.RemoveAll(tree)
	gen := exec.Command("go", "run", "./bench/gentree", tree)
	gen.Dir = root
	if out, err := gen.CombinedOutput(); err != nil {
		b.Fatalf("gentree: %v\n%s", err, strings.TrimSpace(string(out)))
	}
	os.WriteFile(filepath.Join(root, ".bench", "watchtree.done"), nil, 0o644)
	return tree
}
