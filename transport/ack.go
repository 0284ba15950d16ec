package transport

import (
	"sync/atomic"

	"golang.org/x/crypto/ssh"
)

// Right after authentication OpenSSH's sshd sends a global request that
// wants no reply (hostkeys-00@openssh.com, the server's host keys). sshd
// sets TCP_NODELAY only once a session runs a command (nodelay.go), so its
// answer to the client's first channel open (a small segment sent while
// that request is still unacknowledged) waits, by Nagle's algorithm, for
// the client's ACK; and the client's kernel, having nothing to send, delays
// that ACK by 40 ms on Linux (more on other systems). Measured at 10 ms RTT
// through a delay proxy: the first session opened in 52-54 ms, the next
// ones in 11 ms. Answering each such request at once with a message of our
// own (keepalive@openssh.com without reply, which servers ignore) puts the
// ACK on the wire: the first open then took 22 ms.

// noAck is set by tests, to see the stall that ackRequests removes.
var noAck atomic.Bool

// ackRequests passes the server's global requests on to ssh.NewClient's
// handler (which refuses those that want a reply), first answering each one
// that wants no reply with a message of ours, so that the server is not left
// waiting for its ACK.
func ackRequests(conn ssh.Conn, reqs <-chan *ssh.Request) <-chan *ssh.Request {
	out := make(chan *ssh.Request)
	ack := !noAck.Load()
	go func() {
		defer close(out)
		for r := range reqs {
			if !r.WantReply && ack {
				// Without a reply wanted this returns once written; an
				// error means the connection is gone, which Wait reports.
				_, _, _ = conn.SendRequest("keepalive@openssh.com", false, nil)
			}
			out <- r
		}
	}()
	return out
}
