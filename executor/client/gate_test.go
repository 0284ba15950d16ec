package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// hits is an executor stand-in that counts the requests it got per path.
type hits struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *hits) get(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[path]
}

func serveHits(t *testing.T) (*Client, *hits) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	h := &hits{n: map[string]int{}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.n[r.URL.Path]++
		h.mu.Unlock()
		w.Write([]byte(`{}`))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c := New(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}, nil)
	return c, h
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestGateHoldsAnswersAndChanges: while the gate is held, a request that
// changes nothing goes out but its answer waits; one that changes
// something does not go out; an ungated one passes. Opened, both end; a
// replaced executor gets the early request again; a failed gate fails
// every request with its error.
func TestGateHoldsAnswersAndChanges(t *testing.T) {
	c, h := serveHits(t)
	ctx := t.Context()
	g := c.Hold()
	done := make(chan string, 2)
	go func() { c.do(ctx, http.MethodPost, "/v1/sync/plan", map[string]int{"a": 1}, nil); done <- "plan" }()
	go func() { c.do(ctx, http.MethodPost, "/v1/runs", nil, nil); done <- "runs" }()
	waitFor(t, "the plan to go out", func() bool { return h.get("/v1/sync/plan") == 1 })
	if err := c.do(Ungated(ctx), http.MethodGet, "/v1/hello", nil, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	select {
	case who := <-done:
		t.Fatalf("%s returned before the gate opened", who)
	default:
	}
	if n := h.get("/v1/runs"); n != 0 {
		t.Fatalf("a request that changes something went out before the gate opened (%d)", n)
	}
	g.Open(true, nil) // another executor serves now: the plan goes again
	<-done
	<-done
	if p, r := h.get("/v1/sync/plan"), h.get("/v1/runs"); p != 2 || r != 1 {
		t.Errorf("after a replaced executor: plan sent %d times, runs %d; want 2 and 1", p, r)
	}
	if err := c.do(ctx, http.MethodGet, "/v1/x", nil, nil); err != nil || h.get("/v1/x") != 1 {
		t.Errorf("after the gate: %v, sent %d times", err, h.get("/v1/x"))
	}

	failed := errors.New("no executor")
	c.Hold().Open(false, failed)
	for _, path := range []string{"/v1/sync/plan", "/v1/runs"} {
		if err := c.do(ctx, http.MethodPost, path, nil, nil); !errors.Is(err, failed) {
			t.Errorf("%s after a failed gate: %v, want %v", path, err, failed)
		}
	}
}
