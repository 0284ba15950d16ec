package transport

import (
	"sync/atomic"
	"time"
)

// sshd turns Nagle's algorithm off (TCP_NODELAY) on a connection when the
// first session on it starts a command (OpenSSH's
// ssh_packet_set_interactive, called as a session's command starts), and
// never before. A connection that only forwards channels to a unix socket,
// as one to a running executor does, keeps Nagle on, so a small message
// sshd sends while another is unacknowledged (a window adjust, then the
// answer to a request; a channel's close, then the next open's
// confirmation) waits for the client's delayed ACK: 40 ms on Linux, more
// on other systems. Measured on loopback, the answer to a request that
// followed 1 MiB of upload came 42-47 ms after its last byte, against
// 1-8 ms once a session had run; a channel opened in 43 ms against 0.3 ms.
//
// So the first channel of a connection that is not a session starts one
// beside it, running "exit 0" through the user's shell. Nothing waits for
// it; the shell's start-up runs on the target while the channel is used.

// noDelayCommand is what that session runs: a command every shell takes.
const noDelayCommand = "exit 0"

// noDelayTimeout bounds that session, so that a shell that never exits
// does not hold a session slot for the connection's life.
const noDelayTimeout = time.Minute

// noNoDelay is set by tests, to see the stalls noDelay removes.
var noNoDelay atomic.Bool

// sessionStarted notes that the connection now has, or had, a session
// running a command; it reports whether it had before.
func (c *Client) sessionStarted() bool { return c.hadSession.Swap(true) }

// noDelay starts the session that turns sshd's Nagle off, unless one ran.
func (c *Client) noDelay() {
	if c.sessionStarted() || noNoDelay.Load() {
		return
	}
	go func() {
		s, err := c.ssh.NewSession()
		if err != nil { // refused (MaxSessions) or closed: Nagle stays on
			c.log.Trace("no session to turn the server's Nagle off", "error", err)
			return
		}
		defer s.Close()
		if err := s.Start(noDelayCommand); err != nil {
			c.log.Trace("no session to turn the server's Nagle off", "error", err)
			return
		}
		t := time.AfterFunc(noDelayTimeout, func() { s.Close() })
		defer t.Stop()
		s.Wait()
	}()
}
