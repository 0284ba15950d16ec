package client

import (
	"context"
	"io"
	"net/http"
)

// A Gate lets the agent reach an executor it remembers without waiting
// for the hello that checks it is its own build: requests that change
// nothing (GETs, the sync plan) go out at once beside the hello, and only
// their answers wait for it; any other request waits before it is sent.
// If the hello fails, the agent starts its own executor and requests that
// went out before are sent again. Over a 20 ms link that is a round trip
// off every command.
type Gate struct {
	done     chan struct{}
	replaced bool
	err      error
}

type ungatedKey struct{}

// Ungated marks ctx's requests as the ones that open the gate (the hello
// and the executor's start): they never wait for it.
func Ungated(ctx context.Context) context.Context {
	return context.WithValue(ctx, ungatedKey{}, true)
}

// Hold makes c's requests wait for the returned gate's Open.
func (c *Client) Hold() *Gate {
	g := &Gate{done: make(chan struct{})}
	c.gate.Store(g)
	return g
}

// Open lets requests through. replaced: another executor serves now than
// the one that answered before, so requests sent before are sent again.
// err: none serves; waiting and later requests fail with it.
func (g *Gate) Open(replaced bool, err error) {
	g.replaced, g.err = replaced, err
	close(g.done)
}

func (g *Gate) wait(ctx context.Context) (replaced bool, err error) {
	select {
	case <-g.done:
		return g.replaced, g.err
	case <-ctx.Done():
		return false, context.Cause(ctx)
	}
}

// pending returns the gate ctx's requests must respect, nil when none.
func (c *Client) pending(ctx context.Context) *Gate {
	g := c.gate.Load()
	if g == nil || ctx.Value(ungatedKey{}) != nil {
		return nil
	}
	select {
	case <-g.done:
		if g.err == nil {
			c.gate.CompareAndSwap(g, nil)
			return nil
		}
	default:
	}
	return g
}

// waitGate waits, before a request that changes something is sent.
func (c *Client) waitGate(ctx context.Context) error {
	if g := c.pending(ctx); g != nil {
		_, err := g.wait(ctx)
		return err
	}
	return nil
}

// safeToSend reports whether a request may go out before the gate opens:
// it changes nothing on whichever executor answers it.
func safeToSend(method, path string) bool {
	return method == http.MethodGet || path == "/v1/sync/plan"
}

// gated sends a request through send1, respecting the gate.
func (c *Client) gated(ctx context.Context, method, path string, send1 func() (*http.Response, error)) (*http.Response, error) {
	g := c.pending(ctx)
	if g == nil {
		return send1()
	}
	select {
	case <-g.done: // failed (pending drops an open gate)
		return nil, g.err
	default:
	}
	if !safeToSend(method, path) {
		if _, err := g.wait(ctx); err != nil {
			return nil, err
		}
		return send1()
	}
	resp, err := send1()
	replaced, gerr := g.wait(ctx)
	if gerr == nil && !replaced {
		return resp, err
	}
	if resp != nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	}
	if gerr != nil {
		return nil, gerr
	}
	return send1()
}
