package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/ferry-ml/ferry/transport"
)

// Reconnection pacing: the first attempt at once, then waits that double
// up to relinkMaxWait, each attempt bounded by relinkAttemptTimeout.
const (
	relinkFirstWait      = time.Second
	relinkMaxWait        = 10 * time.Second
	relinkAttemptTimeout = 30 * time.Second
)

// ReconnectError says that a lost connection could not be made again:
// the runs on the target go on.
type ReconnectError struct {
	Compute string
	// GaveUp is how long it tried, when it stopped for Runner.ReconnectFor;
	// 0 when the failure is one a retry cannot fix (see Err).
	GaveUp time.Duration
	Err    error
}

func (e *ReconnectError) Error() string {
	if e.GaveUp > 0 {
		return fmt.Sprintf("reconnect to %s: gave up after %s: %v", e.Compute, e.GaveUp, e.Err)
	}
	return fmt.Sprintf("reconnect to %s: %v", e.Compute, e.Err)
}

// Unwrap returns the last attempt's error.
func (e *ReconnectError) Unwrap() error { return e.Err }

// relink makes remote's lost connection again (a laptop that slept, a
// network that dropped), retrying until it works, ctx ends (ctx's error),
// ReconnectFor passes or the failure is one a retry cannot fix, such as a
// changed host key or refused credentials (a *ReconnectError). Runs on the
// target go on meanwhile. A connection that is not lost is left alone.
func (r *Runner) relink(ctx context.Context, remote Link) error {
	if !remote.Lost() {
		return nil
	}
	name := remote.Name()
	if r.Hooks.Reconnecting != nil {
		r.Hooks.Reconnecting(name)
	}
	var deadline time.Time
	if r.ReconnectFor > 0 {
		deadline = time.Now().Add(r.ReconnectFor)
	}
	wait := time.Duration(0)
	for attempt := 1; ; attempt++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		err := r.reconnectOnce(ctx, remote)
		switch {
		case err == nil:
			if r.Hooks.Reconnected != nil {
				r.Hooks.Reconnected(name)
			}
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case transport.IsPermanent(err):
			return &ReconnectError{Compute: name, Err: err}
		case !deadline.IsZero() && time.Now().After(deadline):
			return &ReconnectError{Compute: name, GaveUp: r.ReconnectFor, Err: err}
		}
		r.logger().Debug("reconnect failed", "compute", name, "attempt", attempt, "error", err)
		wait = min(max(2*wait, relinkFirstWait), relinkMaxWait)
	}
}

func (r *Runner) reconnectOnce(ctx context.Context, remote Link) error {
	actx, cancel := context.WithTimeout(ctx, relinkAttemptTimeout)
	defer cancel()
	return remote.Reconnect(actx)
}

// Relink makes remote's connection again when it was lost, as the
// lifecycle does, for callers that hold a connection between runs.
func (r *Runner) Relink(ctx context.Context, remote Link) error { return r.relink(ctx, remote) }
