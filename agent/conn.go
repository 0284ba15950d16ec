package agent

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/client"
	"github.com/ferry-ml/ferry/internal/buildinfo"
	"github.com/ferry-ml/ferry/internal/fsutil"
	"github.com/ferry-ml/ferry/transport/keeper"
	"github.com/hashicorp/go-hclog"
)

// Conn is an open connection to a compute target's executor: one SSH
// connection (or none, for the local target) reused for every call.
type Conn struct {
	Target   compute.Target
	Executor *client.Client
	// StateDir is the executor's state directory on the target, absolute.
	StateDir string
	// Socket is the executor's unix socket on the target.
	Socket string

	mu sync.Mutex // StateDir and Socket, which confirm.go may change
	// emptyStore: the executor said its store held nothing when this
	// connection started it (api.EmptyStore); the next sync skips its plan.
	emptyStore atomic.Bool
	// installRate is bytes/s of the executor's install on this connection
	// (0: none), the link's estimate until an upload measures it.
	installRate atomic.Int64
	ep          endpoint
	home        string
	opts        ConnectOptions
	logger      hclog.Logger
}

// ConnectOptions configure Connect.
type ConnectOptions struct {
	// Home is $FERRY_HOME.
	Home string
	// ExecutorDir holds ferry-executor-linux-<arch> binaries to install; ""
	// means $FERRY_EXECUTOR_DIR, else the directory of the running binary.
	ExecutorDir string
	// Passphrase unlocks an encrypted private key; nil when not available.
	Passphrase func() ([]byte, error)
	// AcceptNewHostKey records an unknown host key instead of refusing.
	AcceptNewHostKey bool
	// AcceptHostKeyFingerprint records an unknown host key only when it
	// has exactly this fingerprint (one a person confirmed).
	AcceptHostKeyFingerprint string
	// Keeper, when set, is the per-user keeper whose SSH connections are
	// used instead of a new one (see endpoint_keeper.go); a command that may
	// accept a new host key, or that the keeper cannot serve, dials itself.
	Keeper *keeper.Client
	Logger hclog.Logger
	// ExecutorIdleTimeout is the executor's --idle-timeout when ferry
	// starts it ("": the executor's default, 30m; "0": never).
	ExecutorIdleTimeout string
	// Notice, when not nil, tells the person at the terminal about a slow
	// phase (installing the executor), one line each, without "ferry: ".
	Notice func(msg string)
}

// Dial opens a connection to t (an SSH handshake for a remote target,
// nothing for the local one) without touching its executor.
func Dial(ctx context.Context, t compute.Target, opts ConnectOptions) (*Conn, error) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	ep, err := openEndpoint(ctx, t, opts)
	if err != nil {
		return nil, err
	}
	return &Conn{Target: t, ep: ep, home: opts.Home, opts: opts,
		logger: opts.Logger.Named("conn").With("compute", t.Name)}, nil
}

// Connect opens a connection to t and makes sure an executor of exactly
// this build is running there, installing or replacing it when needed.
//
// The warm path is one SSH handshake and one request on the forwarded
// socket, which goes out beside the first requests (confirm.go): no remote
// process is started. Only when that fails does the agent
// run "ferry-executor ensure" (one remote process), and only when that says
// the binary is missing does it send one, to the same process.
func Connect(ctx context.Context, t compute.Target, opts ConnectOptions) (*Conn, error) {
	c, err := Dial(ctx, t, opts)
	if err != nil {
		return nil, err
	}
	if err := c.ensure(ctx, true); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// EnsureExecutor makes sure an executor of exactly this build serves the
// connection (see Connect). It is for a Conn opened with Dial.
func (c *Conn) EnsureExecutor(ctx context.Context) error {
	return c.ensureExecutor(ctx)
}

// Probe reports facts about the target (OS, Python, conda, Docker, GPUs,
// free disk in the state directory's file system).
func (c *Conn) Probe(ctx context.Context) (*Facts, error) {
	facts, err := Probe(ctx, c.shell())
	if err == nil && c.Target.Type == compute.TypeSlurm {
		facts.Slurm, err = ProbeSlurm(ctx, c.shell(), c.Target)
	}
	if err != nil || c.Target.Type != compute.TypeHDInsight {
		return facts, err
	}
	facts.Spark, err = ProbeSpark(ctx, c.shell())
	return facts, err
}

// Shell runs probe scripts on the target (with $FERRY_PROBE_DIR set to the
// state directory).
func (c *Conn) Shell() Shell { return c.shell() }

// shell runs probe scripts on the target.
func (c *Conn) shell() Shell {
	return shellFunc(func(ctx context.Context, script string) ([]byte, error) {
		res, err := c.ep.Script(ctx, expandDir+`FERRY_PROBE_DIR=$d
`+script, c.stateDirSpec())
		if err != nil {
			return nil, err
		}
		if res.ExitCode != 0 {
			return nil, fmt.Errorf("exit status %d (remote output: %s)", res.ExitCode, tail(res.Stderr))
		}
		return res.Stdout, nil
	})
}

type shellFunc func(ctx context.Context, script string) ([]byte, error)

func (f shellFunc) RunScript(ctx context.Context, script string) ([]byte, error) {
	return f(ctx, script)
}

// Close closes the executor client and the SSH connection.
func (c *Conn) Close() error {
	if c.Executor != nil {
		c.Executor.Close()
	}
	return c.ep.Close()
}

func openEndpoint(ctx context.Context, t compute.Target, opts ConnectOptions) (endpoint, error) {
	switch t.Type {
	case compute.TypeLocal:
		return localEndpoint{}, nil
	case compute.TypeRemote, compute.TypeHDInsight, compute.TypeSlurm:
		if ep := openKeeper(ctx, t, opts); ep != nil {
			return ep, nil
		}
		return dialSSH(ctx, t, opts)
	}
	return nil, fmt.Errorf("compute target %s: unknown type %q", t.Name, t.Type)
}

// endpointCache remembers where a target's executor listens, so the warm
// path needs no remote process.
type endpointCache struct {
	Address  string `json:"address"`
	StateDir string `json:"state_dir"`
	Socket   string `json:"socket"`
}

func (c *Conn) cachePath() string {
	return filepath.Join(c.home, "cache", "targets", c.Target.Name+".json")
}

func (c *Conn) cacheKey() string {
	return fmt.Sprintf("%s|%s|%d|%s|%s", c.Target.Type, c.Target.Address, c.Target.Port, c.Target.User, c.stateDirSpec())
}

func (c *Conn) ensureExecutor(ctx context.Context) error {
	return c.ensure(ctx, false)
}

// ensure reaches the executor: the remembered one if it answers, else one
// started (and installed) now. optimistic: the remembered one is used at
// once and checked beside the first requests (confirm.go).
func (c *Conn) ensure(ctx context.Context, optimistic bool) error {
	if ec, ok := c.cached(); ok {
		if optimistic {
			c.useCached(ctx, ec)
			return nil
		}
		if c.tryCached(ctx, ec) {
			return nil
		}
	}
	return c.startFresh(ctx)
}

// startFresh starts the executor (installing it if needed), checks it and
// remembers where it listens.
func (c *Conn) startFresh(ctx context.Context) error {
	line, err := c.startExecutor(ctx)
	if err != nil {
		return err
	}
	if err := c.adopt(line); err != nil {
		return err
	}
	// No hello of ours crosses the link: the protocol line is the
	// executor's own hello to the daemon it found or started
	// (executor.Ensure), and adopt checked its protocol and build. The
	// first request opens the connection.
	if c.Executor == nil {
		c.newClient()
	}
	stateDir, sock := c.location()
	data, _ := json.Marshal(endpointCache{Address: c.cacheKey(), StateDir: stateDir, Socket: sock})
	if err := fsutil.WriteCacheFile(c.cachePath(), data, 0o600); err != nil {
		c.logger.Warn("cannot cache executor location", "error", err)
	}
	return nil
}

// cached returns where the executor listened last time, if remembered.
func (c *Conn) cached() (endpointCache, bool) {
	data, err := os.ReadFile(c.cachePath())
	if err != nil {
		return endpointCache{}, false
	}
	var ec endpointCache
	if json.Unmarshal(data, &ec) != nil || ec.Address != c.cacheKey() || ec.Socket == "" {
		return endpointCache{}, false
	}
	return ec, true
}

// tryCached reaches the executor at the remembered socket.
func (c *Conn) tryCached(ctx context.Context, ec endpointCache) bool {
	c.setLocation(ec.StateDir, ec.Socket)
	c.newClient()
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.hello(hctx); err != nil {
		c.logger.Debug("cached executor not usable", "socket", ec.Socket, "error", err)
		c.Executor.Close()
		c.Executor = nil
		return false
	}
	return true
}

func (c *Conn) newClient() {
	c.Executor = client.New(func(ctx context.Context) (net.Conn, error) {
		_, sock := c.location()
		return c.ep.DialUnix(ctx, sock)
	}, c.logger.Named("executor"))
}

// location returns the executor's state directory and socket.
func (c *Conn) location() (stateDir, socket string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.StateDir, c.Socket
}

func (c *Conn) setLocation(stateDir, socket string) {
	c.mu.Lock()
	c.StateDir, c.Socket = stateDir, socket
	c.mu.Unlock()
}

// hello checks that the executor speaks our protocol and is our build.
func (c *Conn) hello(ctx context.Context) error {
	if c.Executor == nil {
		c.newClient()
	}
	return c.checkHello(c.Executor.Hello(ctx))
}

// checkHello turns a hello's answer into an error unless it is ferry's
// own build.
func (c *Conn) checkHello(h api.Hello, err error) error {
	if err != nil {
		return fmt.Errorf("reach executor on %s: %w", c.Target.Name, err)
	}
	if h.Protocol != api.ProtocolVersion || h.Version != buildinfo.String() {
		return fmt.Errorf("executor on %s is version %s (protocol %d), want %s (protocol %d)",
			c.Target.Name, h.Version, h.Protocol, buildinfo.String(), api.ProtocolVersion)
	}
	return nil
}

// stateDirSpec is the state dir as configured, "~/" allowed.
func (c *Conn) stateDirSpec() string {
	if c.Target.Type == compute.TypeLocal {
		return filepath.Join(c.home, "local")
	}
	if c.Target.StateDir != "" {
		return c.Target.StateDir
	}
	return compute.DefaultStateDir
}

// expandDir resolves "~" in $1 on the target; scripts start with it.
const expandDir = `d=$1; case $d in "~") d=$HOME;; "~/"*) d=$HOME/${d#"~/"};; esac
`

// ErrNoExecutorBinary means the executor binary for the target's
// architecture is not available to install.
var ErrNoExecutorBinary = errors.New("executor binary not found")

// protocolLine finds the executor's protocol line in a script's output.
func (c *Conn) protocolLine(res scriptResult, what string) (string, error) {
	if res.ExitCode != 0 {
		return "", fmt.Errorf("%s on %s: exit status %d (remote output: %s)",
			what, c.Target.Name, res.ExitCode, tail(res.Stderr))
	}
	sc := bufio.NewScanner(bytes.NewReader(res.Stdout))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), api.Magic+" ") {
			return sc.Text(), nil
		}
	}
	return "", fmt.Errorf("%s on %s: no protocol line in its output (remote output: %s)",
		what, c.Target.Name, tail(append(res.Stdout, res.Stderr...)))
}

// adopt parses "FERRY-EXECUTOR <protocol> <version> <socket> [empty]".
func (c *Conn) adopt(line string) error {
	f := strings.Fields(line)
	if len(f) < 4 {
		return fmt.Errorf("executor on %s: malformed protocol line %q", c.Target.Name, line)
	}
	if p, _ := strconv.Atoi(f[1]); p != api.ProtocolVersion || f[2] != buildinfo.String() {
		return fmt.Errorf("executor on %s is %s (protocol %s) after install, want %s (protocol %d)",
			c.Target.Name, f[2], f[1], buildinfo.String(), api.ProtocolVersion)
	}
	if len(f) > 5 || len(f) == 5 && f[4] != api.EmptyStore {
		return fmt.Errorf("executor on %s: malformed protocol line %q", c.Target.Name, line)
	}
	c.setLocation(filepath.Dir(f[3]), f[3])
	c.emptyStore.Store(len(f) == 5)
	return nil
}

// executorBinary finds ferry-executor-linux-<arch>.
func (c *Conn) executorBinary(arch string) (string, error) {
	dirs := []string{c.opts.ExecutorDir, os.Getenv("FERRY_EXECUTOR_DIR")}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	name := "ferry-executor-linux-" + arch
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %s is not beside ferry nor in $FERRY_EXECUTOR_DIR", ErrNoExecutorBinary, name)
}

func exitErr(code int) error {
	if code == 0 {
		return nil
	}
	return fmt.Errorf("exit status %d", code)
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// tail returns the last 2 KiB of remote output with control characters
// stripped, for error messages.
func tail(b []byte) string {
	const max = 2048
	if len(b) > max {
		b = b[len(b)-max:]
	}
	s := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, string(b))
	return strings.TrimSpace(s)
}

// Name is the compute target's name.
func (c *Conn) Name() string { return c.Target.Name }
