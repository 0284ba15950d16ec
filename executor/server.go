package executor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/buildinfo"
)

// shutdownGrace is how long Serve waits for requests in flight (log
// streams that follow a run never finish on their own) before closing
// every connection.
const shutdownGrace = 2 * time.Second

// Config configures a Server.
type Config struct {
	// StateDir is the executor's state directory.
	StateDir string
	// Logger receives the server's diagnostics; nil discards them.
	Logger hclog.Logger
	// Runs, when not nil, serves /v1/runs and everything under it.
	Runs http.Handler
	// Store is the blob store to serve; nil opens one on StateDir. Pass
	// one when the run handler needs the same Store (for Materialize).
	Store *Store
	// IdleTimeout ends Serve once no client has been connected and Busy
	// has reported no run going for this long; 0 serves until stopped.
	IdleTimeout time.Duration
	// Busy reports whether a run is going (nil: never).
	Busy func() bool
	// ClaimIdleStop, when not nil, is asked before an idle stop; false
	// keeps serving (see RunDaemon).
	ClaimIdleStop func() (release func(), ok bool)
}

// Server serves the executor API. Create it with New and run it with Serve.
type Server struct {
	cfg      Config
	log      hclog.Logger
	store    *Store
	handler  http.Handler
	stopOnce sync.Once
	stop     chan struct{} // closed by POST /v1/shutdown
}

// New returns a server for cfg, opening the blob store if cfg.Store is nil.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, store: cfg.Store, stop: make(chan struct{})}
	if s.store == nil {
		st, err := OpenStore(cfg.StateDir, cfg.Logger.Named("store"))
		if err != nil {
			return nil, err
		}
		s.store = st
	}
	s.handler = s.routes()
	return s, nil
}

// Store returns the blob store the server uses.
func (s *Server) Store() *Store { return s.store }

// Handler returns the API's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves HTTP/1.1 on l until ctx is done or a client asks for a
// shutdown, then stops gracefully. It closes l. A normal stop returns nil.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       10 * time.Minute,
		ErrorLog:          s.log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	iw := newIdleWatch(s.cfg.IdleTimeout, s.cfg.Busy, s.cfg.ClaimIdleStop)
	srv.ConnState = iw.connState
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	stopIdle := make(chan struct{})
	defer close(stopIdle)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-iw.wait(stopIdle):
		s.log.Info("stopping", "reason", "idle", "idle_timeout", s.cfg.IdleTimeout)
	case <-ctx.Done():
		s.log.Info("stopping", "reason", "signal")
	case <-s.stop:
		s.log.Info("stopping", "reason", "shutdown requested")
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	iw.closeFresh()
	if err := srv.Shutdown(sctx); err != nil {
		s.log.Debug("closing connections still busy after the grace period", "error", err)
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// Done is closed once a client has asked the server to shut down.
func (s *Server) Done() <-chan struct{} { return s.stop }

func (s *Server) hello() api.Hello {
	return api.Hello{
		Protocol: api.ProtocolVersion,
		Version:  buildinfo.String(),
		PID:      os.Getpid(),
		StateDir: s.cfg.StateDir,
		OS:       runtime.GOOS,
		Arch:     runtime.GOARCH,
	}
}
