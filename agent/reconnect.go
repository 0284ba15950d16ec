package agent

import (
	"context"
	"errors"
	"fmt"
)

// ErrConnLost is returned (wrapped) by Follow when the connection to the
// target ended under it; Reconnect, then follow again: the run goes on.
var ErrConnLost = errors.New("connection to the target lost")

// Lost reports whether the connection to the target has ended (the SSH
// connection dropped or was found dead). Calls fail until Reconnect. Never
// true for the local target.
func (c *Conn) Lost() bool { return c.ep.Lost() }

// Reconnect replaces the connection: a new SSH connection, checked against
// known_hosts as at first, and the executor reached again (started if it
// stopped meanwhile). On error c keeps its old, lost, connection. It must
// not run concurrently with other calls on c.
func (c *Conn) Reconnect(ctx context.Context) error {
	ep, err := openEndpoint(ctx, c.Target, c.opts)
	if err != nil {
		return err
	}
	oldEp, oldExec := c.ep, c.Executor
	c.ep = ep
	if err := c.ensureExecutor(ctx); err != nil {
		ep.Close()
		c.ep, c.Executor = oldEp, oldExec
		return fmt.Errorf("reach the executor on %s: %w", c.Target.Name, err)
	}
	if oldExec != nil && oldExec != c.Executor {
		oldExec.Close()
	}
	oldEp.Close()
	c.logger.Debug("reconnected", "compute", c.Target.Name)
	return nil
}
