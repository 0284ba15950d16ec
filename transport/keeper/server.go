package keeper

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"sync"
	"time"

	"github.com/ferry-ml/ferry/transport"
	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/ssh"
)

// DefaultIdle is how long a keeper waits, with no command using it,
// before it closes its connections and exits.
const DefaultIdle = 10 * time.Minute

// Server holds SSH connections for the commands of one user.
type Server struct {
	idle time.Duration
	log  hclog.Logger
	dial func(ctx context.Context, cfg transport.Config) (*transport.Client, error)

	mu     sync.Mutex
	conns  map[string]*held
	spares map[spareKey]*spare // spare.go
	closed bool                // no spare is opened any more
	trees  Trees               // trees.go; nil: tree requests get no token
	active int                 // requests being served
	timer  *time.Timer
	stop   context.CancelFunc
}

// held is one target's connection; its mutex serialises dials.
type held struct {
	mu sync.Mutex
	c  *transport.Client
}

// NewServer returns a keeper that exits after idle (0: DefaultIdle) with
// no request in flight. A nil logger logs nothing.
func NewServer(idle time.Duration, logger hclog.Logger) *Server {
	if idle <= 0 {
		idle = DefaultIdle
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Server{idle: idle, log: logger, dial: transport.Dial, conns: map[string]*held{},
		spares: map[spareKey]*spare{}}
}

// Serve answers requests on ln until ctx ends, a stop request comes, or
// the keeper has been idle for its idle time; then it closes ln and every
// connection it holds, and returns nil. Only peers of this process's uid
// are served.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.stop = cancel
	s.timer = time.AfterFunc(s.idle, s.idleExpired)
	s.mu.Unlock()
	context.AfterFunc(ctx, func() { ln.Close() })
	var wg sync.WaitGroup
	defer func() {
		s.closeAll()
		wg.Wait()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := checkPeer(c); err != nil {
			s.log.Warn("refused a connection", "error", err)
			c.Close()
			continue
		}
		s.begin()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.end()
			s.handle(ctx, c)
		}()
	}
}

func (s *Server) begin() {
	s.mu.Lock()
	s.active++
	s.timer.Stop()
	s.mu.Unlock()
}

func (s *Server) end() {
	s.mu.Lock()
	s.active--
	if s.active == 0 {
		s.timer.Reset(s.idle)
	}
	s.mu.Unlock()
}

func (s *Server) idleExpired() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active == 0 {
		s.log.Debug("idle: exiting", "idle", s.idle)
		s.stop()
	}
}

// closeAll closes every held connection, which ends the streams on them.
func (s *Server) closeAll() {
	s.closeSpares()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.conns {
		h.mu.Lock()
		if h.c != nil {
			h.c.Close()
		}
		h.mu.Unlock()
	}
}

// client returns the live connection to t, dialling one when there is
// none or the one held has ended.
func (s *Server) client(ctx context.Context, t Target) (*transport.Client, error) {
	k := t.key()
	s.mu.Lock()
	h := s.conns[k]
	if h == nil {
		h = &held{}
		s.conns[k] = h
	}
	s.mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.c != nil && !ended(h.c) {
		return h.c, nil
	}
	if h.c != nil {
		h.c.Close()
		s.log.Debug("connection ended: dialling again", "target", k)
	}
	cfg := t.config()
	cfg.Logger = s.log.Named("ssh")
	c, err := s.dial(ctx, cfg)
	if err != nil {
		h.c = nil
		return nil, err
	}
	s.log.Debug("connected", "target", k, "host", t.Host)
	h.c = c
	return c, nil
}

// retry runs op on t's connection, and once more on a new connection when
// the first failed because the connection had ended (a killed sshd, a
// dropped link that the keeper had not noticed yet).
func (s *Server) retry(ctx context.Context, t Target, op func(*transport.Client) error) error {
	c, err := s.client(ctx, t)
	if err != nil {
		return &dialError{err}
	}
	err = op(c)
	if err == nil || ctx.Err() != nil || !connectionGone(c, err) {
		return err
	}
	s.log.Debug("connection gone: dialling again", "error", err)
	c, derr := s.client(ctx, t)
	if derr != nil {
		return &dialError{derr}
	}
	return op(c)
}

// ended reports whether c's connection has ended.
func ended(c *transport.Client) bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

// connectionGone reports whether err came from c's connection ending
// rather than from the server refusing a channel: it waits a moment for
// c to notice the end, which it does as the error arrives.
func connectionGone(c *transport.Client, err error) bool {
	var oce *ssh.OpenChannelError
	if errors.As(err, &oce) {
		return false
	}
	select {
	case <-c.Done():
		return true
	case <-time.After(200 * time.Millisecond):
		return false
	}
}

// dialError marks a failure to connect, as opposed to one on a connection.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// respond answers a request with err's kind.
func respond(c net.Conn, err error) error {
	if err == nil {
		return writeLine(c, response{})
	}
	r := response{Error: err.Error()}
	var de *dialError
	switch {
	case errors.As(err, &de):
		r.Kind = kindDial
	case errors.Is(err, transport.ErrForwardingRefused) || prohibited(err):
		r.Kind = kindRefused
	case errors.Is(err, fs.ErrNotExist):
		r.Kind = kindNotExist
	}
	return writeLine(c, r)
}

// prohibited reports whether sshd refused a channel as administratively
// prohibited (socket forwarding disabled).
func prohibited(err error) bool {
	var oce *ssh.OpenChannelError
	return errors.As(err, &oce) && oce.Reason == ssh.Prohibited
}
