package keeper

import (
	"context"
	"net"
	"time"
)

// After a stream to a unix socket on a target, the keeper opens the next
// one ahead, a spare: every ferry command dials the executor's socket
// first, and a spare makes that dial cost no round trip (a channel open is
// one; 20 ms and more on a laptop-to-cloud link). A spare is kept for
// spareTTL after the last stream to its path: the executor counts it as a
// client while it is open, and closes a connection that sends nothing for
// 30 s. One whose far end closed is dropped, never handed out knowingly.

// spareTTL is how long a spare waits to be taken.
var spareTTL = 20 * time.Second

// spareDialTimeout bounds opening a spare.
const spareDialTimeout = 10 * time.Second

type spareKey struct{ target, path string }

// spare is a stream opened ahead. A goroutine waits in its first read, so
// that its end is seen while it waits; whoever takes it gets that read's
// result first.
type spare struct {
	net.Conn
	first chan firstRead // the first read's result, once
	ended chan struct{}  // closed when the first read found the end
	timer *time.Timer    // set under the server's mutex

	rest []byte
	err  error
}

type firstRead struct {
	data []byte
	err  error
}

func newSpare(c net.Conn) *spare {
	return &spare{Conn: c, first: make(chan firstRead, 1), ended: make(chan struct{})}
}

// wait starts the first read; onEnd runs if it finds the stream's end.
func (sp *spare) wait(onEnd func()) {
	c := sp.Conn
	go func() {
		b := make([]byte, 32<<10)
		n, err := c.Read(b)
		sp.first <- firstRead{b[:n], err}
		if n == 0 {
			close(sp.ended)
			onEnd()
		}
	}()
}

// Read returns the waiting first read's result, then reads on.
func (sp *spare) Read(b []byte) (int, error) {
	if sp.first != nil {
		r := <-sp.first
		sp.first, sp.rest, sp.err = nil, r.data, r.err
	}
	if len(sp.rest) > 0 {
		n := copy(b, sp.rest)
		sp.rest = sp.rest[n:]
		return n, nil
	}
	if sp.err != nil {
		return 0, sp.err
	}
	return sp.Conn.Read(b)
}

// CloseWrite half-closes the stream, as splice expects of it.
func (sp *spare) CloseWrite() error {
	if cw, ok := sp.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return sp.Conn.Close()
}

func (sp *spare) hasEnded() bool {
	select {
	case <-sp.ended:
		return true
	default:
		return false
	}
}

// takeSpare returns the spare stream to path on t, or nil.
func (s *Server) takeSpare(t Target, path string) net.Conn {
	k := spareKey{t.key(), path}
	s.mu.Lock()
	sp := s.spares[k]
	delete(s.spares, k)
	s.mu.Unlock()
	if sp == nil {
		return nil
	}
	sp.timer.Stop()
	if sp.hasEnded() {
		sp.Close()
		return nil
	}
	return sp
}

// refillSpare opens the next spare to path on t's connection, if that is
// up (it never dials one), in the background.
func (s *Server) refillSpare(t Target, path string) {
	k := spareKey{t.key(), path}
	s.mu.Lock()
	h := s.conns[k.target]
	s.mu.Unlock()
	if h == nil {
		return
	}
	h.mu.Lock()
	tc := h.c
	h.mu.Unlock()
	if tc == nil || ended(tc) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), spareDialTimeout)
		defer cancel()
		conn, err := tc.DialUnix(ctx, path)
		if err != nil {
			s.log.Trace("no spare stream", "path", path, "error", err)
			return
		}
		sp := newSpare(conn)
		sp.wait(func() { s.dropSpare(k, sp) })
		s.mu.Lock()
		old := s.spares[k]
		if s.closed {
			s.mu.Unlock()
			sp.Close()
			return
		}
		s.spares[k] = sp
		sp.timer = time.AfterFunc(spareTTL, func() { s.dropSpare(k, sp) })
		s.mu.Unlock()
		if old != nil {
			old.timer.Stop()
			old.Close()
		}
	}()
}

// dropSpare closes sp if it is still waiting to be taken.
func (s *Server) dropSpare(k spareKey, sp *spare) {
	s.mu.Lock()
	waiting := s.spares[k] == sp
	if waiting {
		delete(s.spares, k)
	}
	s.mu.Unlock()
	if waiting {
		sp.Close()
	}
}

// closeSpares closes every waiting spare; none is opened after it.
func (s *Server) closeSpares() {
	s.mu.Lock()
	spares := s.spares
	s.spares, s.closed = map[spareKey]*spare{}, true
	s.mu.Unlock()
	for _, sp := range spares {
		sp.timer.Stop()
		sp.Close()
	}
}
