package executor

import (
	"net/http"
	"testing"
	"time"
)

// TestIdleWatch: idle time counts only with no connection open and no run
// going; a refused claim (an ensure starting) keeps the daemon up.
func TestIdleWatch(t *testing.T) {
	busy := false
	claimOK := true
	released := 0
	w := newIdleWatch(time.Minute, func() bool { return busy }, func() (func(), bool) {
		return func() { released++ }, claimOK
	})
	t0 := w.last
	if d := w.idleFor(t0.Add(2 * time.Minute)); d != 2*time.Minute {
		t.Fatalf("idle for %s, want 2m", d)
	}
	w.connState(nil, http.StateNew)
	if d := w.idleFor(t0.Add(3 * time.Minute)); d != 0 {
		t.Fatalf("idle with a connection open: %s", d)
	}
	w.connState(nil, http.StateClosed)
	busy = true
	if d := w.idleFor(time.Now().Add(time.Hour)); d != 0 {
		t.Fatalf("idle with a run going: %s", d)
	}
	busy = false
	claimOK = false
	if w.claimStop(time.Now().Add(2 * time.Hour)) {
		t.Fatal("stopped although the claim was refused")
	}
	claimOK = true
	w.connState(nil, http.StateNew)
	if w.claimStop(time.Now().Add(2*time.Hour)) || released != 1 {
		t.Fatalf("stopped with a client connected (released %d)", released)
	}
	w.connState(nil, http.StateClosed)
	if !w.claimStop(time.Now().Add(2 * time.Hour)) {
		t.Fatal("did not stop when idle and claimed")
	}
	never := newIdleWatch(0, nil, nil)
	select {
	case <-never.wait(make(chan struct{})):
		t.Fatal("a zero timeout stopped the daemon")
	case <-time.After(50 * time.Millisecond):
	}
}
