//go:build linux

package runner

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/testutil"
)

// A run writing 100 MB of binary output (\r, invalid UTF-8) with nobody
// following must complete; later reads are byte-exact from any offset.
func TestLogLargeBinaryNoFollower(t *testing.T) {
	const chunks = 100
	script := py(
		"import sys",
		"chunk = bytes(range(256)) * 4096",
		"for i in range("+strconv.Itoa(chunks)+"):",
		"    sys.stdout.buffer.write(chunk)",
		"    sys.stdout.buffer.write(b'\\rprogress %d%%\\xff\\xfe' % i)",
	)
	var want bytes.Buffer
	chunk := make([]byte, 256)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	big := bytes.Repeat(chunk, 4096)
	for i := range chunks {
		want.Write(big)
		want.WriteString("\rprogress " + strconv.Itoa(i) + "%\xff\xfe")
	}
	e := newEnv(t, map[string]testutil.Tree{"s": {"big.py": script}})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "big.py"})
	got := e.wait(run.Spec.ID)
	if got.Status != api.StatusCompleted || got.LogSize != int64(want.Len()) {
		t.Fatalf("status %s (%s), log size %d, want %d", got.Status, got.Reason, got.LogSize, want.Len())
	}
	resp := e.openLog(run.Spec.ID, 0, true)
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || n != int64(want.Len()) || !bytes.Equal(h.Sum(nil), sha(want.Bytes())) {
		t.Fatalf("followed log differs from what the script wrote (%d bytes, want %d; %v)", n, want.Len(), err)
	}
	for _, off := range []int64{98_765_433, int64(want.Len()) - 12345, int64(want.Len())} {
		tail := e.readLog(run.Spec.ID, off, true)
		if !bytes.Equal(tail, want.Bytes()[off:]) {
			t.Fatalf("log from offset %d: %d bytes differ from the expected tail", off, len(tail))
		}
	}
}

// Followers receive lines while they are written, byte-exact, all of them;
// the stream ends when the run does.
func sha(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

func TestLogFollowLatency(t *testing.T) {
	const lines = 40
	script := py(
		"import time",
		"for i in range("+strconv.Itoa(lines)+"):",
		"    print('%d %.6f' % (i, time.time()))",
		"    time.sleep(0.02)",
	)
	e := newEnv(t, map[string]testutil.Tree{"s": {"tick.py": script}})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "tick.py"})
	done := make(chan []byte, 2)
	for range 2 { // a second follower reads the same stream concurrently
		go func() {
			resp := e.openLog(run.Spec.ID, 0, true)
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			done <- data
		}()
	}
	resp := e.openLog(run.Spec.ID, 0, true)
	defer resp.Body.Close()
	var lat []time.Duration
	var seen strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		now := float64(time.Now().UnixNano()) / 1e9
		seen.WriteString(sc.Text() + "\n")
		f := strings.Fields(sc.Text())
		ts, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Duration((now-ts)*1e9))
	}
	if len(lat) != lines {
		t.Fatalf("got %d lines, want %d", len(lat), lines)
	}
	for range 2 {
		if other := <-done; string(other) != seen.String() {
			t.Fatalf("concurrent follower got %d bytes, want %d", len(other), seen.Len())
		}
	}
	slices.Sort(lat)
	p50, p90 := lat[len(lat)/2], lat[len(lat)*9/10]
	t.Logf("follow latency p50 %v p90 %v max %v", p50, p90, lat[len(lat)-1])
	if p50 > 100*time.Millisecond {
		t.Fatalf("follow latency p50 %v, want < 100ms", p50)
	}
	if final := e.wait(run.Spec.ID); final.Status != api.StatusCompleted {
		t.Fatalf("status %s", final.Status)
	}
}

func TestLogBadRequests(t *testing.T) {
	e := newEnv(t, map[string]testutil.Tree{"s": {"a.py": "print('x')\n"}})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "a.py"})
	e.wait(run.Spec.ID)
	tests := []struct {
		path string
		code int
	}{
		{"/v1/runs/" + run.Spec.ID + "/log?offset=-1", 400},
		{"/v1/runs/" + run.Spec.ID + "/log?offset=abc", 400},
		{"/v1/runs/nope/log", 404},
		{"/v1/runs/" + run.Spec.ID + "/log?offset=100", 200},
	}
	for _, tt := range tests {
		if code := e.do("GET", tt.path, nil, nil); code != tt.code {
			t.Errorf("GET %s: %d, want %d", tt.path, code, tt.code)
		}
	}
}
