package agent

import (
	"context"
	"time"

	"github.com/ferry-ml/ferry/executor/client"
)

// A command that remembers where the target's executor listens does not
// wait for the hello that checks it is ferry's own build before its first
// requests: the hello goes out beside them, and their answers are held
// until it is back (client.Gate). Requests that change something wait for
// it before they go out. If the remembered executor is gone or another
// build, this one is started (installed if needed) as on first contact,
// and what went out before is sent again. Over a 20 ms link the sync plan
// then costs one round trip after the snapshot instead of two.

// useCached points the client at the remembered executor and checks it in
// the background.
func (c *Conn) useCached(ctx context.Context, ec endpointCache) {
	c.setLocation(ec.StateDir, ec.Socket)
	c.newClient()
	go c.confirm(context.WithoutCancel(ctx), c.Executor, c.Executor.Hold(), ec.Socket)
}

// confirm opens the gate once the remembered executor answered as ferry's
// own build, or once another was started in its place.
func (c *Conn) confirm(ctx context.Context, ex *client.Client, g *client.Gate, sock string) {
	ctx = client.Ungated(ctx)
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	h, err := ex.Hello(hctx)
	cancel()
	if err = c.checkHello(h, err); err == nil {
		g.Open(false, nil)
		return
	}
	c.logger.Debug("cached executor not usable", "socket", sock, "error", err)
	ex.Close() // idle connections to the old socket
	g.Open(true, c.startFresh(ctx))
}
