package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/ssh"
)

// Dial connects and authenticates to cfg's host, through its ProxyJump
// hosts if the ssh config names any. ctx and cfg.ConnectTimeout bound the
// dial, the handshake and authentication; once Dial returns, ctx no longer
// matters: the Client lives until Close or until keepalives find the peer
// dead.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	return dial(ctx, cfg, nil, "")
}

// dial is Dial with ProxyJump hops forced by an outer hop (jumps != nil)
// and a key to fall back to when the jump host has none of its own.
func dial(ctx context.Context, cfg Config, jumps []string, fallbackKey string) (*Client, error) {
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	t, err := resolve(cfg)
	if err != nil {
		return nil, err
	}
	if jumps == nil {
		jumps = parseJumps(t.proxyJump)
	}
	if fallbackKey != "" && !t.keyExplicit {
		t.keyFiles, t.keyExplicit = []string{fallbackKey}, true
	}
	log = log.With("host", t.hostPort(), "user", t.user)
	ctx, cancel := context.WithTimeoutCause(ctx, t.connectTimeout, errConnectTimeout)
	defer cancel()
	var jump *Client
	if len(jumps) > 0 {
		if jump, err = dialJump(ctx, cfg, t, jumps, log); err != nil {
			return nil, err
		}
	}
	c, err := connect(ctx, cfg, t, jump, log)
	if err != nil && jump != nil {
		jump.Close()
	}
	return c, err
}

// dialJump connects to the last hop, itself reached through the hops
// before it (ssh -J a,b host reaches b through a, then host through b).
func dialJump(ctx context.Context, cfg Config, t *target, jumps []string, log hclog.Logger) (*Client, error) {
	last := jumps[len(jumps)-1]
	user, host, port, err := parseJumpHost(last)
	if err != nil {
		return nil, permanent(fmt.Errorf("parse ProxyJump %q: %w", last, err))
	}
	jcfg := Config{
		Host: host, Port: port, User: user, Passphrase: cfg.Passphrase,
		KnownHostsFiles: cfg.KnownHostsFiles, AcceptNewHostKey: cfg.AcceptNewHostKey,
		UseAgent: cfg.UseAgent, SSHConfigFile: cfg.SSHConfigFile, ConnectTimeout: t.connectTimeout,
		KeepaliveInterval: cfg.KeepaliveInterval, Logger: log.Named("jump"),
	}
	fallback := ""
	if t.keyExplicit {
		fallback = t.keyFiles[0]
	}
	c, err := dial(ctx, jcfg, jumps[:len(jumps)-1], fallback)
	if err != nil {
		return nil, fmt.Errorf("connect to jump host %s: %w", last, err)
	}
	return c, nil
}

// connect dials t (directly or through jump) and runs the SSH handshake.
func connect(ctx context.Context, cfg Config, t *target, jump *Client, log hclog.Logger) (*Client, error) {
	hk, err := newHostKeyChecker(t, cfg.AcceptNewHostKey, cfg.AcceptHostKeyFingerprint, log)
	if err != nil {
		return nil, err
	}
	creds, err := loadCredentials(cfg, t, log)
	if err != nil {
		return nil, err
	}
	defer creds.close()
	conn, err := dialConn(ctx, t.hostPort(), jump)
	if err != nil {
		return nil, err
	}
	cc := &ssh.ClientConfig{
		User: t.user, Auth: creds.methods, HostKeyCallback: hk.callback,
		HostKeyAlgorithms: hk.algorithms(), AuthCallback: creds.trace.callback,
	}
	start := time.Now()
	sc, err := handshake(ctx, conn, t.hostPort(), cc)
	if err != nil {
		return nil, classifyHandshake(ctx, err, t, hk, creds)
	}
	key, _ := hk.result()
	log.Debug("connected", "host_key", ssh.FingerprintSHA256(key), "elapsed", time.Since(start))
	c := newClient(sc, jump, key, t.keepalive, log)
	c.spare.dial = spareDialer(cfg, t, jump, key)
	return c, nil
}

// dialConn opens the byte stream to addr: TCP with keepalives, or a
// direct-tcpip channel through the jump host's connection.
func dialConn(ctx context.Context, addr string, jump *Client) (net.Conn, error) {
	if jump != nil {
		conn, err := jump.ssh.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("dial %s through jump host: %w", addr, dialCause(ctx, err))
		}
		return conn, nil
	}
	d := net.Dialer{KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 5 * time.Second, Count: 3}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ssh connect: %w", dialCause(ctx, err))
	}
	return conn, nil
}

// handshake runs the SSH handshake on conn; cancelling ctx closes conn,
// which aborts it.
func handshake(ctx context.Context, conn net.Conn, addr string, cc *ssh.ClientConfig) (*ssh.Client, error) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, cc)
	if !stop() {
		if err == nil {
			sc.Close()
		}
		return nil, context.Cause(ctx)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return ssh.NewClient(sc, chans, ackRequests(sc, reqs)), nil
}

// classifyHandshake turns a handshake error into the error callers branch
// on: host key errors, AuthError, the context's cause, or a retryable
// network error.
func classifyHandshake(ctx context.Context, err error, t *target, hk *hostKeyChecker, creds *credentials) error {
	if _, hkErr := hk.result(); hkErr != nil {
		return hkErr
	}
	if ctx.Err() != nil {
		return fmt.Errorf("ssh handshake with %s: %w", t.hostPort(), context.Cause(ctx))
	}
	started, allowed := creds.trace.state()
	if started && !isNetworkError(err) {
		return &AuthError{User: t.user, Host: t.alias, Methods: allowed, Offered: creds.offered, Err: err}
	}
	return fmt.Errorf("ssh handshake with %s: %w", t.hostPort(), err)
}

func isNetworkError(err error) bool {
	var netErr net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &netErr) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

// dialCause prefers the context's cause (connect timeout, cancellation)
// over the dialer's generic error.
func dialCause(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// parseJumps splits a ProxyJump value into hops; "none" means none.
func parseJumps(v string) []string {
	if v == "" || strings.EqualFold(v, "none") {
		return nil
	}
	return strings.Split(v, ",")
}

// parseJumpHost parses "[user@]host[:port]" or "ssh://[user@]host[:port]".
func parseJumpHost(s string) (user, host string, port int, err error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "ssh://")
	if i := strings.LastIndex(s, "@"); i >= 0 {
		user, s = s[:i], s[i+1:]
	}
	host = s
	if h, p, splitErr := net.SplitHostPort(s); splitErr == nil {
		host = h
		if port, err = strconv.Atoi(p); err != nil {
			return "", "", 0, fmt.Errorf("bad port %q", p)
		}
	}
	if host == "" {
		return "", "", 0, errors.New("empty host")
	}
	return user, host, port, nil
}
