package transport

import (
	"testing"
	"time"
)

// TestFirstSessionNotHeldByDelayedAck: on a fresh connection to a real
// sshd, through a proxy adding 2 ms each way, the first session opens in
// about two round trips. Without the answer to sshd's hostkeys request it
// waits for the client's delayed ACK (40 ms and more; logged below).
func TestFirstSessionNotHeldByDelayedAck(t *testing.T) {
	cfg := configThroughProxy(t, 2*time.Millisecond)
	// The fastest of five connections: a loaded machine slows some.
	firstOpen := func() time.Duration {
		best := time.Hour
		for range 5 {
			c, err := Dial(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			sess, err := c.newSession(t.Context())
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			sess.Close()
			c.Close()
			best = min(best, took)
		}
		return best
	}
	with := firstOpen()
	noAck.Store(true)
	without := firstOpen()
	noAck.Store(false)
	t.Logf("first session opened in %v (%v without the answer)", with, without)
	if with >= 30*time.Millisecond {
		t.Fatalf("the first session took %v to open at 4 ms RTT, want under 30 ms (%v without the answer to sshd's request)", with, without)
	}
}
