package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/internal/ui"
	"github.com/ferry-ml/ferry/transport"
)

// Reconnection pacing: the first attempt at once, then waits that double
// up to reconnectMaxWait, each attempt bounded by reconnectAttemptTimeout.
const (
	reconnectFirstWait      = time.Second
	reconnectMaxWait        = 10 * time.Second
	reconnectAttemptTimeout = 30 * time.Second
	// runReconnectFor is how long ferry run tries before it gives up
	// following (the run goes on; ferry logs -f reattaches).
	runReconnectFor = 2 * time.Minute
)

// reconnect makes conn's lost connection again (a laptop that slept, a
// network that dropped), retrying until it works, ctx ends, giveUp passes
// (0: never) or the failure is one a retry cannot fix (a changed host key,
// refused credentials). Runs on the target go on meanwhile. A connection
// that is not lost is left alone.
func reconnect(ctx context.Context, g *globalOptions, p *ui.Printer, conn *agent.Conn, giveUp time.Duration) error {
	if !conn.Lost() {
		return nil
	}
	name := conn.Target.Name
	p.Noticef("ferry: connection to %s lost; reconnecting\n", name)
	var deadline time.Time
	if giveUp > 0 {
		deadline = time.Now().Add(giveUp)
	}
	wait := time.Duration(0)
	for attempt := 1; ; attempt++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		actx, cancel := context.WithTimeout(ctx, reconnectAttemptTimeout)
		err := conn.Reconnect(actx)
		cancel()
		switch {
		case err == nil:
			p.Noticef("ferry: reconnected to %s\n", name)
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case transport.IsPermanent(err):
			return connectError(conn.Target, err)
		case !deadline.IsZero() && time.Now().After(deadline):
			return fmt.Errorf("reconnect to %s: gave up after %s: %w", name, giveUp, err)
		}
		g.logger.Debug("reconnect failed", "compute", name, "attempt", attempt, "error", err)
		wait = min(max(2*wait, reconnectFirstWait), reconnectMaxWait)
	}
}

// ensureConn reconnects ferry watch's connection when it was lost, for as
// long as it takes (Ctrl-C stops watching).
func (s *watchSession) ensureConn(ctx context.Context) error {
	return reconnect(ctx, s.g, s.p, s.conn, 0)
}

// countingWriter counts the bytes written through it, so that a follow cut
// by a lost connection resumes where it stopped.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// errLostBeforeStart says a run could not be submitted for a lost link.
func errLostBeforeStart(compute string, err error) error {
	return fmt.Errorf("connection to %s lost before the run started: %w", compute, err)
}
