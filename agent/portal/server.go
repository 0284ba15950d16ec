package portal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/agent/outputs"
	"github.com/hashicorp/go-hclog"
)

// Config is what a Server needs. History and Targets are shared with the
// caller, who closes them after Serve returns.
type Config struct {
	// Home is $FERRY_HOME: the history database is Home/history.db and
	// downloaded outputs live under Home/blobs.
	Home      string
	History   *history.Store
	Targets   *compute.Store
	Connector Connector
	// Rerun starts a new run of a recorded one on the named target (""
	// for the same one) and returns its id; nil hides the rerun button.
	Rerun  func(ctx context.Context, rec history.Record, compute string) (string, error)
	Logger hclog.Logger
}

// Server is the portal. Create it with New, then call Serve.
type Server struct {
	cfg     Config
	auth    auth
	log     hclog.Logger
	pages   *pages
	changes *changes
	outputs *outputs.Store
	runner  *agent.Runner
	checks  *checkCache
	attach  *pendingAttaches
	mux     *http.ServeMux
}

// New returns a server with a fresh random access token.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Connector == nil {
		cfg.Connector = AgentConnector{Home: cfg.Home, Logger: cfg.Logger}
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	store, err := outputs.Open(outputsDir(cfg.Home))
	if err != nil {
		return nil, fmt.Errorf("open outputs store: %w", err)
	}
	s := &Server{cfg: cfg, auth: newAuth(), log: cfg.Logger.Named("portal"), pages: p,
		changes: newChanges(), outputs: store, checks: newCheckCache(), attach: newPendingAttaches()}
	s.runner = &agent.Runner{History: cfg.History, Outputs: store, MaxOutputSize: agent.DefaultMaxOutputSize, Logger: s.log}
	s.mux = s.routes()
	return s, nil
}

// Handler is the portal's HTTP handler, behind the token check.
func (s *Server) Handler() http.Handler { return s.auth.wrap(s.mux) }

// URL is the address to open: it carries the access token.
func (s *Server) URL(addr net.Addr) string {
	u := url.URL{Scheme: "http", Host: addr.String(), Path: "/", RawQuery: "token=" + s.auth.token}
	return u.String()
}

// Serve answers on ln until ctx ends, then shuts down (open event streams
// end with ctx) and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := s.changes.watch(ctx, s.historyPath(), s.log); err != nil {
		return err
	}
	tr := newTracker(s)
	tctx, stopTracker := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); tr.run(tctx) }()
	defer func() { stopTracker(); <-done }()
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          s.log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve portal: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve portal: %w", err)
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shut down portal: %w", err)
	}
	return nil
}

func (s *Server) historyPath() string { return filepath.Join(s.cfg.Home, "history.db") }

func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.Handle("GET /static/", staticHandler())
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/runs", http.StatusSeeOther)
	})
	m.HandleFunc("GET /events", s.handleEvents)
	m.HandleFunc("GET /runs", s.handleRuns)
	m.HandleFunc("GET /runs/table", s.handleRunsTable)
	m.HandleFunc("GET /runs/{id}", s.handleRun)
	m.HandleFunc("GET /runs/{id}/summary", s.handleRunSummary)
	m.HandleFunc("GET /runs/{id}/metrics", s.handleRunMetrics)
	m.HandleFunc("GET /runs/{id}/log/stream", s.handleLogStream)
	m.HandleFunc("GET /runs/{id}/log.txt", s.handleLogText)
	m.HandleFunc("GET /runs/{id}/files", s.handleSnapshotFiles)
	m.HandleFunc("GET /runs/{id}/outputs/{path...}", s.handleOutput)
	m.HandleFunc("POST /runs/{id}/cancel", s.handleCancel)
	m.HandleFunc("POST /runs/{id}/rerun", s.handleRerun)
	m.HandleFunc("GET /compare", s.handleCompare)
	m.HandleFunc("GET /compute", s.handleCompute)
	m.HandleFunc("POST /compute/attach", s.handleAttach)
	m.HandleFunc("POST /compute/attach/confirm", s.handleAttachConfirm)
	m.HandleFunc("POST /compute/{name}/check", s.handleCheck)
	m.HandleFunc("POST /compute/{name}/detach", s.handleDetach)
	return m
}
