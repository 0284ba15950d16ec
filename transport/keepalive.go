package transport

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/ssh"
)

// keepaliveTimeout is how long a keepalive reply may take before the
// connection is declared dead: two intervals. With the 5 s default a dead
// peer is detected at most 5 + 10 = 15 s after its last reply.
func keepaliveTimeout(interval time.Duration) time.Duration { return 2 * interval }

// keepalive sends keepalive@openssh.com requests (as OpenSSH's
// ServerAliveInterval does) and closes the connection when one goes
// unanswered, so every call blocked on it returns an error.
type keepalive struct {
	conn     ssh.Conn
	interval time.Duration
	log      hclog.Logger
	done     chan struct{}
	exited   chan struct{}
	stopOnce sync.Once
	dead     atomic.Bool
}

func startKeepalive(conn ssh.Conn, interval time.Duration, log hclog.Logger) *keepalive {
	k := &keepalive{conn: conn, interval: interval, log: log, done: make(chan struct{}), exited: make(chan struct{})}
	go k.run()
	return k
}

func (k *keepalive) run() {
	defer close(k.exited)
	tick := time.NewTicker(k.interval)
	defer tick.Stop()
	for {
		select {
		case <-k.done:
			return
		case <-tick.C:
		}
		if !k.probe() {
			return
		}
	}
}

// probe sends one request and waits for its reply; it reports whether the
// loop should go on.
func (k *keepalive) probe() bool {
	replied := make(chan error, 1)
	// The sender ends when the reply arrives or the connection closes,
	// which the timeout below guarantees.
	go func() {
		_, _, err := k.conn.SendRequest("keepalive@openssh.com", true, nil)
		replied <- err
	}()
	timeout := time.NewTimer(keepaliveTimeout(k.interval))
	defer timeout.Stop()
	select {
	case err := <-replied:
		if err != nil {
			k.log.Debug("keepalive failed; connection closed", "error", err)
			return false
		}
		return true
	case <-timeout.C:
		k.dead.Store(true)
		k.log.Warn("ssh server stopped answering keepalives; closing connection", "timeout", keepaliveTimeout(k.interval))
		k.conn.Close()
		return false
	case <-k.done:
		return false
	}
}

// lost reports whether the keepalive declared the connection dead.
func (k *keepalive) lost() bool { return k.dead.Load() }

// stop ends the loop and waits for it.
func (k *keepalive) stop() {
	k.stopOnce.Do(func() { close(k.done) })
	<-k.exited
}
