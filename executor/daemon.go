package executor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ferry-ml/ferry/internal/fsutil"
	"github.com/hashicorp/go-hclog"
)

// StateLock is the flock on executor.lock that makes a daemon the only one
// serving its state directory. The kernel drops it when the process exits.
type StateLock struct{ l *fsutil.FileLock }

// LockStateDir takes the state directory's lock without waiting, or
// returns ErrLocked.
func LockStateDir(stateDir string) (*StateLock, error) {
	l, err := fsutil.TryLock(filepath.Join(stateDir, LockName))
	if errors.Is(err, fsutil.ErrLocked) {
		return nil, ErrLocked
	}
	if err != nil {
		return nil, fmt.Errorf("lock state directory: %w", err)
	}
	return &StateLock{l: l}, nil
}

// Release drops the lock.
func (l *StateLock) Release() error { return l.l.Unlock() }

// Listen creates the API socket (0600) of stateDir, replacing a stale one.
// Hold the state lock first: a socket file left by a daemon that is gone
// is removed, and only the lock says it is gone.
func Listen(stateDir string) (net.Listener, error) {
	path := SocketPath(stateDir)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("socket path %s is %d bytes; unix sockets allow at most %d: use a shorter --state-dir", path, len(path), maxSocketPath)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket: %w", err)
	}
	// The directory is 0700, so nobody else can reach the socket in the
	// moment before the chmod.
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	return l, nil
}

// DaemonConfig configures RunDaemon.
type DaemonConfig struct {
	StateDir string
	Logger   hclog.Logger
	// Runs, when not nil, builds the /v1/runs handler from the store. The
	// returned close function (may be nil) runs after the server stopped.
	Runs func(store *Store) (http.Handler, func() error, error)
	// Ready, when not nil, receives "ready\n" and is closed once the socket
	// accepts connections (ensure waits on it instead of polling).
	Ready *os.File
	// IdleTimeout ends the daemon once it had no client and no run going
	// for this long (0: never); see Config.IdleTimeout.
	IdleTimeout time.Duration
	// Busy reports whether a run is going; called only while serving.
	Busy func() bool
}

// RunDaemon is "ferry-executor serve": it takes the state lock, listens on
// the socket, serves until ctx is done or a client asks for a shutdown,
// then removes the socket. Runs go on: they belong to their shims.
func RunDaemon(ctx context.Context, cfg DaemonConfig) (err error) {
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if err := PrepareStateDir(cfg.StateDir); err != nil {
		return err
	}
	// An idle stop's ensure lock, released after the state lock.
	var heldMu sync.Mutex
	var held *os.File
	defer func() {
		heldMu.Lock()
		defer heldMu.Unlock()
		if held != nil {
			held.Close()
		}
	}()
	lock, err := LockStateDir(cfg.StateDir)
	if err != nil {
		return err
	}
	defer lock.Release()
	store, err := OpenStore(cfg.StateDir, log.Named("store"))
	if err != nil {
		return err
	}
	defer store.Close()
	srvCfg := Config{StateDir: cfg.StateDir, Logger: log, Store: store, IdleTimeout: cfg.IdleTimeout, Busy: cfg.Busy}
	// An idle stop holds the ensure lock until this process exits, so an
	// ensure that starts meanwhile waits, finds no daemon and starts one;
	// while an ensure holds it, a client is on its way: keep serving.
	srvCfg.ClaimIdleStop = func() (func(), bool) {
		f, ok := tryLockEnsure(cfg.StateDir)
		if !ok {
			return nil, false
		}
		heldMu.Lock()
		held = f
		heldMu.Unlock()
		return func() {
			heldMu.Lock()
			held = nil
			heldMu.Unlock()
			f.Close()
		}, true
	}
	if cfg.Runs != nil {
		h, closeRuns, err := cfg.Runs(store)
		if err != nil {
			return err
		}
		if closeRuns != nil {
			defer func() { err = errors.Join(err, closeRuns()) }()
		}
		srvCfg.Runs = h
	}
	srv, err := New(srvCfg)
	if err != nil {
		return err
	}
	l, err := Listen(cfg.StateDir)
	if err != nil {
		return err
	}
	defer os.Remove(SocketPath(cfg.StateDir))
	log.Info("serving", "socket", l.Addr().String(), "pid", os.Getpid())
	if cfg.Ready != nil {
		cfg.Ready.WriteString("ready\n")
		cfg.Ready.Close()
	}
	return srv.Serve(ctx, l)
}
