package executor

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestFlusherCoalesces: requests during a running sync make one more
// sync after it, not one each; a request after it is done starts another.
func TestFlusherCoalesces(t *testing.T) {
	var f flusher
	var runs atomic.Int32
	release := make(chan struct{})
	done := make(chan struct{}, 10)
	sync := func() {
		if runs.Add(1) == 1 {
			<-release
		}
		done <- struct{}{}
	}
	f.soon(sync)
	for range 5 {
		f.soon(sync)
	}
	close(release)
	waitRuns(t, done, 2)
	time.Sleep(20 * time.Millisecond)
	if n := runs.Load(); n != 2 {
		t.Fatalf("%d syncs for six requests during one, want 2", n)
	}
	f.mu.Lock()
	running := f.running
	f.mu.Unlock()
	if running {
		t.Fatal("the flusher still runs after its last sync")
	}
	f.soon(sync)
	waitRuns(t, done, 1)
	if n := runs.Load(); n != 3 {
		t.Fatalf("%d syncs, want 3 after one more request", n)
	}
}

func waitRuns(t *testing.T, done <-chan struct{}, n int) {
	t.Helper()
	for range n {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("sync did not run")
		}
	}
}

func TestSmallBlobs(t *testing.T) {
	pend := []pendingBlob{{size: 0}, {size: writebackMin - 1}, {size: writebackMin}, {size: 1 << 30}}
	if n := smallBlobs(pend); n != 2 {
		t.Fatalf("smallBlobs = %d, want 2", n)
	}
}
