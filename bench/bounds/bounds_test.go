package bounds

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ferry-ml/ferry/executor"
	"github.com/ferry-ml/ferry/executor/client"
	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/snapshot"
	"github.com/hashicorp/go-hclog"
)

// metricsScript logs N scalar metrics (name, value, step, time), as
// ferry_run.log writes them, straight into FERRY_METRICS_FILE (ferry_run
// opens the file per call, which would make the script the slow part).
const metricsScript = `import json, os, sys, time
n = int(sys.argv[1])
with open(os.environ["FERRY_METRICS_FILE"], "a") as f:
    t = time.time()
    for i in range(n):
        f.write(json.dumps({"name": "loss" if i % 2 else "acc", "value": 1.0 / (i + 1), "step": i, "time": t + i * 1e-3}) + "\n")
print("logged", n)
`

// bench is one FERRY_HOME with the binaries to use.
type bench struct {
	b    *testing.B
	bin  string
	home string
	src  string
}

func newBench(b *testing.B) *bench {
	bin := os.Getenv("FERRY_BENCH_BIN")
	if bin == "" {
		bin = testutil.Binaries(b)
	}
	home, err := os.MkdirTemp("/tmp", "bb")
	if err != nil {
		b.Fatal(err)
	}
	src := filepath.Join(home, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "m.py"), []byte(metricsScript), 0o644)
	be := &bench{b: b, bin: bin, home: home, src: src}
	b.Cleanup(func() {
		for _, pid := range be.executorPIDs() {
			syscall.Kill(pid, syscall.SIGTERM)
		}
		os.RemoveAll(home)
	})
	return be
}

// ferry runs the CLI and returns its stdout, stderr and peak RSS in bytes.
func (be *bench) ferry(args ...string) (string, string, int64) {
	be.b.Helper()
	cmd := exec.Command(filepath.Join(be.bin, "ferry"), args...)
	cmd.Dir = be.src
	cmd.Env = append(os.Environ(), "FERRY_HOME="+be.home, "FERRY_EXECUTOR_DIR="+be.bin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		be.b.Fatalf("ferry %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return out.String(), errOut.String(), ru.Maxrss << 10
}

// stateDir is the local executor's state directory.
func (be *bench) stateDir() string { return filepath.Join(be.home, "local") }

func (be *bench) executorPIDs() []int {
	out, _ := exec.Command("pgrep", "-f", "--", "--state-dir "+be.stateDir()).Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// executorRSS returns the local executor's current and peak RSS in bytes.
func (be *bench) executorRSS() (rss, peak int64) {
	be.b.Helper()
	pids := be.executorPIDs()
	if len(pids) != 1 {
		be.b.Fatalf("local executor pids %v, want one", pids)
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pids[0]))
	if err != nil {
		be.b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && (f[0] == "VmRSS:" || f[0] == "VmHWM:") {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			if f[0] == "VmRSS:" {
				rss = kb << 10
			} else {
				peak = kb << 10
			}
		}
	}
	return rss, peak
}

// runID is the run id ferry run printed first on stderr.
func runID(b *testing.B, stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "ferry:" && f[1] == "run" {
			return f[2]
		}
	}
	b.Fatalf("no run id in %q", stderr)
	return ""
}

// size is a file's size, or the total of a folder's files; 0 when absent.
func size(path string) int64 {
	var n int64
	filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// check fails b when got is over limit, unless bounds are not checked.
func check(b *testing.B, what string, got, limit int64) {
	if got > limit && os.Getenv("FERRY_BENCH_NO_BOUNDS") == "" {
		b.Errorf("%s = %d, over its bound %d", what, got, limit)
	}
}

const mb = 1 << 20

// BenchmarkMetricsBounds: a local run logs FERRY_BENCH_METRICS metrics;
// the executor's peak RSS, its run.json, the local history and the memory
// of ferry show stay bounded.
func BenchmarkMetricsBounds(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("FERRY_BENCH_METRICS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for b.Loop() {
		be := newBench(b)
		be.ferry("run", "m.py", "0") // starts the executor: its RSS at rest
		rest, _ := be.executorRSS()
		_, stderr, _ := be.ferry("run", "m.py", strconv.Itoa(n))
		id := runID(b, stderr)
		_, peak := be.executorRSS()
		show, _, showRSS := be.ferry("show", id)
		runDir := filepath.Join(be.stateDir(), "runs", id)
		figures := []struct {
			name  string
			v     int64
			bound int64
		}{
			{"executor_rest_MB", rest / mb, 1 << 30},
			{"executor_peak_MB", peak / mb, 100},
			{"run.json_bytes", size(filepath.Join(runDir, "run.json")), 64 << 10},
			{"raw_metrics_MB", size(filepath.Join(runDir, "metrics.jsonl")) / mb, 1 << 30},
			{"kept_metrics_MB", size(filepath.Join(runDir, "metrics.kept.jsonl")) / mb, 1 << 30},
			{"history.db_KB", (size(filepath.Join(be.home, "history.db")) + size(filepath.Join(be.home, "history.db-wal"))) >> 10, 2 << 10},
			{"history_metrics_MB", size(filepath.Join(be.home, "metrics")) / mb, 40},
			{"ferry_show_peak_MB", showRSS / mb, 100},
		}
		for _, f := range figures {
			b.ReportMetric(float64(f.v), f.name)
			check(b, f.name, f.v, f.bound)
		}
		if want := fmt.Sprintf("last of %d)", n/2); !strings.Contains(show, want) {
			b.Errorf("ferry show lacks %q:\n%s", want, show)
		}
	}
}

// BenchmarkManifestBounds: a 2,000,000-entry manifest put to the
// executor is refused without its peak RSS growing; then one of
// snapshot.MaxEntries entries (accepted, up to its missing blob) shows
// what the limit costs.
func BenchmarkManifestBounds(b *testing.B) {
	for b.Loop() {
		be := newBench(b)
		be.ferry("run", "m.py", "0")
		rest, _ := be.executorRSS()
		b.ReportMetric(float64(rest/mb), "executor_rest_MB")
		for _, n := range []int{2_000_000, snapshot.MaxEntries} {
			err := be.putManifest(manifest(n))
			_, peak := be.executorRSS()
			b.Logf("put of a %d-entry manifest: %v", n, err)
			name := fmt.Sprintf("executor_peak_after_%dk_MB", n/1000)
			b.ReportMetric(float64(peak/mb), name)
			if n > snapshot.MaxEntries {
				check(b, name, peak/mb, 100)
			}
		}
	}
}

// putManifest puts data to the local executor, as a sync does.
func (be *bench) putManifest(data []byte) error {
	c := client.New(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", executor.SocketPath(be.stateDir()))
	}, hclog.NewNullLogger())
	defer c.Close()
	sum := sha256.Sum256(data)
	_, err := c.PutSnapshot(be.b.Context(), hex.EncodeToString(sum[:]), data)
	return err
}

// manifest encodes n regular, empty files f0000000, f0000001, ... in the
// manifest format (snapshot/manifest.go), without snapshot's encoder,
// which refuses more than snapshot.MaxEntries.
func manifest(n int) []byte {
	buf := make([]byte, 0, 16+n*56)
	buf = append(buf, "FERRYMNF"...)
	buf = binary.BigEndian.AppendUint32(buf, 1)
	buf = binary.BigEndian.AppendUint32(buf, uint32(n))
	empty := sha256.Sum256(nil)
	for i := range n {
		p := fmt.Sprintf("f%07d", i)
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(p)))
		buf = append(buf, p...)
		buf = append(buf, 1)
		buf = binary.BigEndian.AppendUint16(buf, 0o644)
		buf = binary.BigEndian.AppendUint64(buf, 0)
		buf = append(buf, empty[:]...)
		buf = binary.BigEndian.AppendUint16(buf, 0)
	}
	return buf
}
