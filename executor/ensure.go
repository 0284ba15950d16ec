package executor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/client"
	"github.com/ferry-ml/ferry/internal/buildinfo"
)

const (
	// startTimeout bounds the wait for a new daemon's socket.
	startTimeout = 5 * time.Second
	// stopTimeout bounds the wait for a replaced daemon to exit.
	stopTimeout = 10 * time.Second
	// maxLogSize rotates executor.log to executor.log.1 when exceeded.
	maxLogSize = 10 << 20
	// logTailSize is how much of executor.log an error quotes.
	logTailSize = 4 << 10
)

// EnsureConfig configures Ensure.
type EnsureConfig struct {
	StateDir string
	// Executable is started as "Executable serve"; empty means this
	// process's own executable.
	Executable string
	Logger     hclog.Logger
	// IdleTimeout is passed to a daemon started as "serve --idle-timeout"
	// ("": its default). A daemon already serving keeps its own.
	IdleTimeout string
}

// EnsureResult describes the daemon Ensure found or started.
type EnsureResult struct {
	Socket  string
	Hello   api.Hello
	Started bool // a new daemon was started
	// Empty: the store held no blob and no snapshot when Ensure returned
	// (see StoreEmpty).
	Empty bool
}

// ProtocolLine is the one line "ferry-executor ensure" prints on stdout:
// the magic, the protocol, the build, the socket, and "empty" when the
// store is (Empty).
func (r EnsureResult) ProtocolLine() string {
	line := fmt.Sprintf("%s %d %s %s", api.Magic, api.ProtocolVersion, r.Hello.Version, r.Socket)
	if r.Empty {
		line += " " + api.EmptyStore
	}
	return line + "\n"
}

// Ensure makes sure a daemon of exactly this build serves stateDir: it
// returns at once if one answers; it asks a daemon of another version to
// shut down (its runs go on) and waits for it to exit; then it starts
// "serve" detached in its own session, with stdin /dev/null and output
// appended to executor.log, and waits until the socket answers.
func Ensure(ctx context.Context, cfg EnsureConfig) (EnsureResult, error) {
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	res := EnsureResult{Socket: SocketPath(cfg.StateDir)}
	if len(res.Socket) > maxSocketPath {
		return res, fmt.Errorf("socket path %s is %d bytes; unix sockets allow at most %d: use a shorter state directory", res.Socket, len(res.Socket), maxSocketPath)
	}
	if err := PrepareStateDir(cfg.StateDir); err != nil {
		return res, err
	}
	touchVersionDir(cfg.StateDir)
	unlock, err := lockEnsure(cfg.StateDir)
	if err != nil {
		return res, err
	}
	defer unlock()
	if h, err := probe(ctx, res.Socket); err == nil {
		if h.Version == buildinfo.String() && h.Protocol == api.ProtocolVersion {
			res.Hello, res.Empty = h, StoreEmpty(cfg.StateDir)
			return res, nil
		}
		log.Info("replacing executor of another version", "version", h.Version, "pid", h.PID)
		if err := replace(ctx, cfg.StateDir, res.Socket); err != nil {
			return res, err
		}
	}
	if err := startDaemon(ctx, cfg); err != nil {
		return res, err
	}
	h, err := probe(ctx, res.Socket)
	if err != nil {
		return res, fmt.Errorf("reach started executor: %w%s", err, logTail(cfg.StateDir))
	}
	if h.Version != buildinfo.String() {
		return res, fmt.Errorf("started executor answers as version %s, want %s", h.Version, buildinfo.String())
	}
	res.Hello, res.Started, res.Empty = h, true, StoreEmpty(cfg.StateDir)
	return res, nil
}

// ensureLockName serialises Ensure calls on one state directory.
const ensureLockName = "ensure.lock"

// lockEnsure makes concurrent Ensure calls (two ferry commands starting at
// once) take turns, so that the second finds the daemon the first started
// instead of starting one that loses the state lock to it. Every step of
// Ensure is bounded by a timeout, and the kernel drops the lock when its
// holder dies, so the blocking wait is bounded too.
func lockEnsure(stateDir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(stateDir, ensureLockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open ensure lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("take ensure lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// tryLockEnsure takes the ensure lock without waiting; the caller closes
// the file to release it.
func tryLockEnsure(stateDir string) (*os.File, bool) {
	f, err := os.OpenFile(filepath.Join(stateDir, ensureLockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	return f, true
}

// probe asks the daemon on socket for its hello, briefly.
func probe(ctx context.Context, socket string) (api.Hello, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c := client.New(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}, nil)
	defer c.Close()
	return c.Hello(ctx)
}

// replace asks the daemon on socket to shut down and waits until it has
// released the state lock (it exits right after).
func replace(ctx context.Context, stateDir, socket string) error {
	c := client.New(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}, nil)
	defer c.Close()
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.Shutdown(sctx); err != nil {
		return fmt.Errorf("ask old executor to shut down: %w", err)
	}
	return waitUnlocked(ctx, stateDir, stopTimeout)
}

// waitUnlocked blocks until the state lock is free (the holder exited),
// without polling: a blocking flock on a goroutine. On timeout that
// goroutine stays blocked until the lock frees or this process exits.
func waitUnlocked(ctx context.Context, stateDir string, timeout time.Duration) error {
	f, err := os.OpenFile(filepath.Join(stateDir, LockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open lock: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		defer f.Close()
		done <- unix.Flock(int(f.Fd()), unix.LOCK_EX) // released by Close
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("wait for old executor: %w", err)
		}
		return nil
	case <-timer.C:
		return fmt.Errorf("old executor still holds %s after %s", LockName, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startDaemon starts "serve" in its own session and waits for its "ready"
// line on an inherited pipe.
func startDaemon(ctx context.Context, cfg EnsureConfig) error {
	exe := cfg.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("find own executable: %w", err)
		}
	}
	logf, err := openDaemonLog(cfg.StateDir)
	if err != nil {
		return err
	}
	defer logf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create ready pipe: %w", err)
	}
	defer r.Close()
	args := []string{"serve", "--state-dir", cfg.StateDir, "--ready-fd", "3"}
	if cfg.IdleTimeout != "" {
		args = append(args, "--idle-timeout", cfg.IdleTimeout)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = cfg.StateDir
	cmd.Stdout, cmd.Stderr = logf, logf // stdin nil: /dev/null
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("start executor daemon: %w", err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Release() // not waited for: it outlives this process
	return waitReady(ctx, r, cfg.StateDir, pid)
}

func waitReady(ctx context.Context, r *os.File, stateDir string, pid int) error {
	deadline := time.Now().Add(startTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	r.SetReadDeadline(deadline)
	line, err := bufio.NewReader(r).ReadString('\n')
	if line == "ready\n" {
		return nil
	}
	if errors.Is(err, io.EOF) {
		// It exited without serving. Lost a race with another ensure? Then
		// that one's daemon answers; the caller's probe decides.
		if _, perr := probe(ctx, SocketPath(stateDir)); perr == nil {
			return nil
		}
		return fmt.Errorf("executor daemon (pid %d) exited before serving%s", pid, logTail(stateDir))
	}
	return fmt.Errorf("wait for executor daemon (pid %d): %w%s", pid, err, logTail(stateDir))
}

// openDaemonLog opens executor.log for appending, first rotating it to
// executor.log.1 when it grew past maxLogSize.
func openDaemonLog(stateDir string) (*os.File, error) {
	p := filepath.Join(stateDir, LogName)
	if fi, err := os.Stat(p); err == nil && fi.Size() > maxLogSize {
		if err := os.Rename(p, p+".1"); err != nil {
			return nil, fmt.Errorf("rotate executor log: %w", err)
		}
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open executor log: %w", err)
	}
	return f, nil
}

// logTail returns the end of executor.log, control characters stripped,
// formatted to append to an error.
func logTail(stateDir string) string {
	f, err := os.Open(filepath.Join(stateDir, LogName))
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > logTailSize {
		f.Seek(-logTailSize, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	tail := strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' || r == 0x7f {
			return -1
		}
		return r
	}, string(b))
	if tail = strings.TrimSpace(tail); tail == "" {
		return ""
	}
	return " (executor log: " + tail + ")"
}
