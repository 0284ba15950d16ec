package transport

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/ssh"
)

// Spare connections. OpenSSH limits the sessions (exec, shell, subsystem)
// open at once on one connection to MaxSessions (default 10; some servers
// set 1). The SFTP session and every "ferry-executor proxy" stream (the
// fallback when socket forwarding is refused) is a session, so a strict
// server refuses the second one with "open failed". When that happens the
// Client opens the session on a spare connection to the same server,
// authenticated as the first was (decrypted keys are cached, so nothing is
// asked again) and pinned to the host key already verified. Spares live
// until Close; maxSpares bounds them.
const maxSpares = 16

// ErrSessionRefused is returned (wrapped) when the server refused a
// session on the connection and no spare connection could take it.
var ErrSessionRefused = errors.New("the ssh server refused another session on this connection (sshd_config MaxSessions)")

// spares holds the extra connections of one Client.
type spares struct {
	// dial opens another connection to the same server; nil: none can be.
	dial func(ctx context.Context) (*ssh.Client, error)
	log  hclog.Logger

	mu    sync.Mutex // held across a dial, so racing sessions open one spare
	conns []*ssh.Client
}

// spareDialer returns how to open another connection like the one just
// made to t: same credentials, same route, and only the host key that was
// verified for it.
func spareDialer(cfg Config, t *target, jump *Client, key ssh.PublicKey) func(ctx context.Context) (*ssh.Client, error) {
	return func(ctx context.Context) (*ssh.Client, error) {
		ctx, cancel := context.WithTimeoutCause(ctx, t.connectTimeout, errConnectTimeout)
		defer cancel()
		creds, err := loadCredentials(cfg, t, hclog.NewNullLogger())
		if err != nil {
			return nil, err
		}
		defer creds.close()
		conn, err := dialConn(ctx, t.hostPort(), jump)
		if err != nil {
			return nil, err
		}
		cc := &ssh.ClientConfig{User: t.user, Auth: creds.methods,
			HostKeyCallback: ssh.FixedHostKey(key), HostKeyAlgorithms: algosForKeyType(key.Type())}
		return handshake(ctx, conn, t.hostPort(), cc)
	}
}

// isSessionRefused reports whether err is the server's refusal of a
// session channel: OpenSSH answers "open failed" past MaxSessions.
func isSessionRefused(err error) bool {
	var oce *ssh.OpenChannelError
	return errors.As(err, &oce) && oce.Reason == ssh.ConnectionFailed
}

// session opens a session on a spare connection, opening a new spare when
// every one refuses.
func (s *spares) session(ctx context.Context, refused error) (*ssh.Session, error) {
	if s.dial == nil {
		return nil, fmt.Errorf("%w: %w", ErrSessionRefused, refused)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sc := range s.conns {
		if sess, err := sc.NewSession(); err == nil {
			return sess, nil
		}
	}
	if len(s.conns) >= maxSpares {
		return nil, fmt.Errorf("%w, and on %d more connections: %w", ErrSessionRefused, maxSpares, refused)
	}
	sc, err := s.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w; open another connection: %w", ErrSessionRefused, err)
	}
	s.conns = append(s.conns, sc)
	s.log.Debug("server refused another session; opened a spare connection", "spares", len(s.conns))
	sess, err := sc.NewSession()
	if err != nil {
		return nil, fmt.Errorf("open session on a spare connection: %w", err)
	}
	return sess, nil
}

// close closes every spare connection.
func (s *spares) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, sc := range s.conns {
		errs = append(errs, ignoreClosed(sc.Close()))
	}
	s.conns = nil
	return errors.Join(errs...)
}
