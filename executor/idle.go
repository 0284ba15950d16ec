package executor

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultIdleTimeout is how long a daemon with no run going and no client
// connected waits before it exits; the next ferry command starts it again.
const DefaultIdleTimeout = 30 * time.Minute

// idleWatch tracks the server's open connections and ends the daemon
// once, for timeout, none was open and busy reported no run going.
type idleWatch struct {
	timeout time.Duration
	busy    func() bool // nil: never busy
	// claim, when not nil, is asked before the daemon stops; false (an
	// ensure is starting a client's session) waits for the next check.
	// release undoes a claim that came too late (a client connected).
	claim func() (release func(), ok bool)

	mu    sync.Mutex
	conns int
	fresh map[net.Conn]bool // open, no request read yet (a keeper's spare stream)
	last  time.Time         // when the daemon was last in use
}

func newIdleWatch(timeout time.Duration, busy func() bool, claim func() (func(), bool)) *idleWatch {
	return &idleWatch{timeout: timeout, busy: busy, claim: claim, fresh: map[net.Conn]bool{}, last: time.Now()}
}

// connState is the http.Server's ConnState hook.
func (w *idleWatch) connState(c net.Conn, st http.ConnState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch st {
	case http.StateNew:
		w.conns++
		w.fresh[c] = true
	case http.StateActive:
		delete(w.fresh, c)
	case http.StateClosed, http.StateHijacked:
		w.conns--
		delete(w.fresh, c)
	}
	w.last = time.Now()
}

// closeFresh closes the connections that never sent a request, before the
// server shuts down: net/http's Shutdown waits up to 5 s for a new
// connection's first request, and a keeper holds one open ahead.
func (w *idleWatch) closeFresh() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for c := range w.fresh {
		if c != nil {
			c.Close()
		}
	}
}

// idleFor reports how long the daemon has been idle at now: 0 while a
// client is connected or a run is going.
func (w *idleWatch) idleFor(now time.Time) time.Duration {
	busy := w.busy != nil && w.busy()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conns > 0 || busy {
		w.last = now
		return 0
	}
	return now.Sub(w.last)
}

// wait returns a channel closed once the daemon has been idle for
// timeout; it checks every timeout/4 (at most every 30 s) until done
// closes.
func (w *idleWatch) wait(done <-chan struct{}) <-chan struct{} {
	idle := make(chan struct{})
	if w.timeout <= 0 {
		return idle // never
	}
	every := min(max(w.timeout/4, 10*time.Millisecond), 30*time.Second)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				if w.idleFor(now) >= w.timeout && w.claimStop(now) {
					close(idle)
					return
				}
			}
		}
	}()
	return idle
}

// claimStop claims the stop, and checks again that no client came.
func (w *idleWatch) claimStop(now time.Time) bool {
	if w.claim == nil {
		return true
	}
	release, ok := w.claim()
	if !ok {
		return false
	}
	if w.idleFor(now) == 0 {
		release()
		return false
	}
	return true
}
