package transport

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// SFTP tuning: 64 requests in flight per file and concurrent writes keep a
// large upload from waiting a round trip per packet. Measured (32 MiB, 10 ms
// RTT, loaded 2-core box): 8/16/64 in flight with 32 KiB packets gave
// 19/33/76 MB/s; 255 KiB packets gave no gain at 64 in flight (the
// server's 2 MiB channel window caps the bytes in flight anyway), so the
// default 32 KiB packets, which every server accepts, are kept.
const sftpMaxRequestsPerFile = 64

// Client is one authenticated SSH connection. Its methods are safe for
// concurrent use. Close it when done; it also closes the jump host's
// connection it was reached through.
type Client struct {
	ssh  *ssh.Client
	jump *Client
	key  ssh.PublicKey
	log  hclog.Logger
	ka   *keepalive

	sftpMu   sync.Mutex
	sftp     *sftp.Client
	sftpSess *ssh.Session // the session under sftp when it is on a spare

	spare spares // connections for sessions this one refuses (spare.go)

	hadSession atomic.Bool // a session ran a command (nodelay.go)

	closeOnce sync.Once
	closeErr  error

	done chan struct{} // closed once the connection has ended
}

func newClient(sc *ssh.Client, jump *Client, key ssh.PublicKey, interval time.Duration, log hclog.Logger) *Client {
	c := &Client{ssh: sc, jump: jump, key: key, log: log, done: make(chan struct{})}
	c.spare.log = log
	if interval > 0 {
		c.ka = startKeepalive(sc, interval, log)
	}
	go func() {
		sc.Wait()
		close(c.done)
	}()
	return c
}

// Done returns a channel closed once the connection has ended: closed by
// Close, by the server, by a reset, or by the keepalive finding the peer
// dead. A new Dial is then needed.
func (c *Client) Done() <-chan struct{} { return c.done }

// RemoteAddr returns the server's address: a TCP address, or the address
// as seen from the jump host.
func (c *Client) RemoteAddr() net.Addr { return c.ssh.RemoteAddr() }

// HostKeyFingerprint returns the verified host key's SHA-256 fingerprint,
// "SHA256:..." as ssh-keygen -l prints it.
func (c *Client) HostKeyFingerprint() string { return ssh.FingerprintSHA256(c.key) }

// DialUnix connects to a unix socket on the server (streamlocal
// forwarding). OpenSSH answers both "no such socket" and "forwarding
// forbidden" (AllowStreamLocalForwarding no) with the same "open failed",
// so on failure DialUnix looks at path (statSocket): a missing path gives an error
// matching fs.ErrNotExist; an existing one gives ErrForwardingRefused
// (fall back to StartConn then). Closing the returned conn closes the
// channel.
func (c *Client) DialUnix(ctx context.Context, path string) (net.Conn, error) {
	conn, err := c.ssh.DialContext(ctx, "unix", path)
	if err == nil {
		c.noDelay()
		return conn, nil
	}
	var openErr *ssh.OpenChannelError
	if !errors.As(err, &openErr) {
		return nil, fmt.Errorf("dial unix socket %s: %w", path, c.lostOr(err))
	}
	return nil, fmt.Errorf("dial unix socket %s: %w", path, c.diagnoseUnix(ctx, path, err))
}

// pathKind is what a path on the server is, for diagnoseUnix.
type pathKind int

const (
	pathUnknown pathKind = iota
	pathMissing
	pathSocket
	pathOther
)

// diagnoseUnix explains a refused streamlocal channel open.
func (c *Client) diagnoseUnix(ctx context.Context, path string, openErr error) error {
	switch c.statSocket(ctx, path) {
	case pathMissing:
		return fmt.Errorf("%w (%w)", fs.ErrNotExist, openErr)
	case pathOther:
		return fmt.Errorf("not a socket (%w)", openErr)
	case pathSocket:
		return fmt.Errorf("%w (%w)", ErrForwardingRefused, openErr)
	}
	return openErr
}

// statSocket says what path is on the server, with one "test" process:
// no SFTP subsystem needed (nothing of ferry needs one), and this runs
// only when a socket could not be reached.
func (c *Client) statSocket(ctx context.Context, path string) pathKind {
	res, err := c.Exec(ctx, []string{"sh", "-c", `if [ -S "$1" ]; then echo socket; elif [ -e "$1" ] || [ -L "$1" ]; then echo other; else echo missing; fi`, "sh", path}, nil)
	if err != nil || res.ExitCode != 0 {
		return pathUnknown
	}
	switch strings.TrimSpace(string(res.Stdout)) {
	case "missing":
		return pathMissing
	case "socket":
		return pathSocket
	case "other":
		return pathOther
	}
	return pathUnknown
}

// SFTP returns the connection's SFTP client, starting the session on first
// use. Every call returns the same client; do not close it (Close does).
func (c *Client) SFTP() (*sftp.Client, error) {
	c.sftpMu.Lock()
	defer c.sftpMu.Unlock()
	if c.sftp != nil {
		return c.sftp, nil
	}
	opts := []sftp.ClientOption{sftp.UseConcurrentWrites(true), sftp.MaxConcurrentRequestsPerFile(sftpMaxRequestsPerFile)}
	s, err := sftp.NewClient(c.ssh, opts...)
	if isSessionRefused(err) {
		s, err = c.spareSFTP(err, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("start sftp session: %w", c.lostOr(err))
	}
	c.sftp = s
	return s, nil
}

// spareSFTP starts the SFTP client on a spare connection's session, after
// the connection itself refused one.
func (c *Client) spareSFTP(refused error, opts []sftp.ClientOption) (*sftp.Client, error) {
	sess, err := c.spare.session(context.Background(), refused)
	if err != nil {
		return nil, err
	}
	pw, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return nil, err
	}
	pr, err := sess.StdoutPipe()
	if err == nil {
		err = sess.RequestSubsystem("sftp")
	}
	if err != nil {
		sess.Close()
		return nil, err
	}
	s, err := sftp.NewClientPipe(pr, pw, opts...)
	if err != nil {
		sess.Close()
		return nil, err
	}
	c.sftpSess = sess
	return s, nil
}

// Close closes the SFTP session, the connection and any jump connection.
// It is safe to call more than once.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		if c.ka != nil {
			c.ka.stop()
		}
		var errs []error
		c.sftpMu.Lock()
		if c.sftp != nil {
			errs = append(errs, ignoreClosed(c.sftp.Close()))
		}
		if c.sftpSess != nil {
			c.sftpSess.Close()
		}
		c.sftpMu.Unlock()
		errs = append(errs, ignoreClosed(c.ssh.Close()), c.spare.close())
		if c.jump != nil {
			errs = append(errs, c.jump.Close())
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// lostOr returns ErrConnLost (joined with err) when the keepalive closed the
// connection, else err.
func (c *Client) lostOr(err error) error {
	if c.ka != nil && c.ka.lost() {
		return fmt.Errorf("%w (%v)", ErrConnLost, err)
	}
	if c.jump != nil && c.jump.ka != nil && c.jump.ka.lost() {
		return fmt.Errorf("%w (jump host: %v)", ErrConnLost, err)
	}
	return err
}

func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
