package watch

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/snapshot"
	"github.com/hashicorp/go-hclog"
)

// loopHarness runs a Loop over a temp tree with real snapshots, counting
// snapshots and prefetches and recording the manifest of each run.
type loopHarness struct {
	root      string
	snapshots atomic.Int32
	mu        sync.Mutex
	prefetch  []*snapshot.Manifest
	runs      chan *snapshot.Manifest
}

func startLoop(t *testing.T, quiet time.Duration) *loopHarness {
	t.Helper()
	h := &loopHarness{root: t.TempDir(), runs: make(chan *snapshot.Manifest, 16)}
	testutil.WriteTree(t, h.root, testutil.Tree{"train.py": "v0", "data/x.csv": "1,2"})
	cache := t.TempDir()
	log := hclog.New(&hclog.LoggerOptions{Output: t.Output(), Level: hclog.Trace})
	l := NewLoop(Config{
		Root: h.root, Mode: Cancel, Logger: log,
		Watcher: WatcherOptions{Quiet: quiet, Settle: 10 * time.Millisecond},
		Snapshot: func(ctx context.Context) (*snapshot.Manifest, error) {
			h.snapshots.Add(1)
			m, _, err := snapshot.Take(ctx, h.root, snapshot.Options{CacheDir: cache})
			return m, err
		},
		Prefetch: func(ctx context.Context, m *snapshot.Manifest) {
			h.mu.Lock()
			h.prefetch = append(h.prefetch, m)
			h.mu.Unlock()
		},
		Run: func(ctx context.Context, stop <-chan struct{}, it Iteration) Outcome {
			h.runs <- it.Manifest
			return Outcome{Status: "Completed"}
		},
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	h.nextRun(t) // the first run
	return h
}

func (h *loopHarness) nextRun(t *testing.T) *snapshot.Manifest {
	t.Helper()
	select {
	case m := <-h.runs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no run")
		return nil
	}
}

func (h *loopHarness) write(t *testing.T, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(h.root, "train.py"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func blobOf(t *testing.T, m *snapshot.Manifest, path string) snapshot.BlobID {
	t.Helper()
	for _, e := range m.Entries {
		if e.Path == path {
			return e.Blob
		}
	}
	t.Fatalf("%s not in the snapshot", path)
	return snapshot.BlobID{}
}

// A save that settles is snapshotted and prefetched before the debounce
// ends, and the run uses that snapshot: no snapshot of its own.
func TestLoopUsesEarlySnapshot(t *testing.T) {
	h := startLoop(t, 300*time.Millisecond)
	before := h.snapshots.Load()
	h.write(t, "v1")
	m := h.nextRun(t)
	if blobOf(t, m, "train.py") != snapshot.BlobID(sha256Of("v1")) {
		t.Fatal("the run's snapshot does not hold the save")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	// Each early snapshot is prefetched (each differs from the last run's);
	// the trigger took none of its own. (A burst split by a loaded machine
	// makes two early snapshots, the second one used.)
	if n := int(h.snapshots.Load() - before); n == 0 || n != len(h.prefetch) {
		t.Errorf("%d snapshots and %d prefetched for one save; want only early ones, each prefetched", n, len(h.prefetch))
	}
	if len(h.prefetch) == 0 || h.prefetch[len(h.prefetch)-1].ID() != m.ID() {
		t.Error("the run did not use the early (prefetched) snapshot")
	}
}

// A change after the early snapshot makes it stale: the run gets the
// newest content.
func TestLoopRetakesStaleEarlySnapshot(t *testing.T) {
	h := startLoop(t, 300*time.Millisecond)
	h.write(t, "v1")
	time.Sleep(100 * time.Millisecond) // settled, early snapshot taken
	h.write(t, "v2")
	m := h.nextRun(t)
	if blobOf(t, m, "train.py") != snapshot.BlobID(sha256Of("v2")) {
		t.Fatal("the run used a snapshot older than the last save")
	}
	select {
	case m := <-h.runs:
		t.Fatalf("a second run (%s) for one burst", m.ID().Short())
	case <-time.After(500 * time.Millisecond):
	}
}

func sha256Of(s string) [32]byte { return sha256.Sum256([]byte(s)) }
