package keeper

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/ferry-ml/ferry/transport"
)

// Client reaches a keeper, starting one when none answers.
type Client struct {
	// Socket is the keeper's socket.
	Socket string
	// Start starts a keeper on Socket and returns once it listens (or
	// found another keeper there); nil: never start one.
	Start func(ctx context.Context) error
}

// startWait bounds the wait for a keeper just started.
const startWait = 3 * time.Second

// connect connects to the keeper, starting it if needed.
func (k *Client) connect(ctx context.Context) (net.Conn, error) {
	c, err := k.dial(ctx)
	if err != nil && k.Start != nil {
		sctx, cancel := context.WithTimeout(ctx, startWait)
		defer cancel()
		if serr := k.Start(sctx); serr != nil {
			return nil, fmt.Errorf("start keeper: %w", serr)
		}
		c, err = k.dialReady(sctx)
	}
	if err != nil {
		return nil, fmt.Errorf("reach keeper: %w", err)
	}
	return c, nil
}

// open connects to the keeper (starting it if needed) and sends req.
func (k *Client) open(ctx context.Context, req request) (net.Conn, error) {
	c, err := k.connect(ctx)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := writeLine(c, req); err != nil {
		c.Close()
		return nil, fmt.Errorf("keeper request: %w", err)
	}
	var resp response
	if err := readLine(c, &resp); err != nil {
		c.Close()
		return nil, fmt.Errorf("keeper response: %w", err)
	}
	if err := resp.err(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// dialReady dials until the keeper answers or ctx ends: a keeper started
// beside another (two requests of one command, each starting one) finds
// the other holding the lock and says "running" at once, possibly before
// the other listens.
func (k *Client) dialReady(ctx context.Context) (net.Conn, error) {
	for {
		c, err := k.dial(ctx)
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (k *Client) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", k.Socket)
}

// Watch makes sure the keeper holds a live connection to t and returns a
// stream that ends (EOF) when that connection ends. An error matching
// ErrDial means the keeper could not connect: dial t yourself.
func (k *Client) Watch(ctx context.Context, t Target) (net.Conn, error) {
	return k.open(ctx, request{Op: opWatch, Target: t})
}

// DialUnix returns a stream to the unix socket path on t, through the
// keeper's connection. Errors match fs.ErrNotExist (no such socket) and
// transport.ErrForwardingRefused (sshd forbids forwarding) as
// transport.Client.DialUnix's do.
func (k *Client) DialUnix(ctx context.Context, t Target, path string) (net.Conn, error) {
	c, err := k.open(ctx, request{Op: opUnix, Target: t, Path: path})
	if err != nil {
		return nil, fmt.Errorf("dial unix socket %s: %w", path, err)
	}
	return c, nil
}

// Exec runs argv on t as transport.Client.Exec does, with stdin (nil: none)
// read to its end first. Cancelling ctx cancels the command.
func (k *Client) Exec(ctx context.Context, t Target, argv []string, stdin io.Reader) (transport.ExecResult, error) {
	c, err := k.open(ctx, request{Op: opExec, Target: t, Argv: argv})
	if err != nil {
		return transport.ExecResult{}, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := sendStdin(c, stdin); err != nil {
		return transport.ExecResult{}, errors.Join(ctx.Err(), err)
	}
	res, err := readResult(c)
	if ctx.Err() != nil {
		return res, context.Cause(ctx)
	}
	return res, err
}

// Stop asks the keeper on Socket, if any, to close its connections and
// exit; it does not start one.
func (k *Client) Stop(ctx context.Context) error {
	kk := &Client{Socket: k.Socket}
	c, err := kk.open(ctx, request{Op: opStop})
	if err != nil {
		return err
	}
	io.Copy(io.Discard, c) // the keeper closes it as it exits
	return c.Close()
}

func sendStdin(c net.Conn, stdin io.Reader) error {
	if stdin != nil {
		buf := make([]byte, 256<<10)
		for {
			n, err := stdin.Read(buf)
			if n > 0 {
				if werr := writeFrame(c, frameStdin, buf[:n]); werr != nil {
					return fmt.Errorf("send stdin: %w", werr)
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("read stdin: %w", err)
			}
		}
	}
	if err := writeFrame(c, frameStdinEOF, nil); err != nil {
		return fmt.Errorf("send stdin: %w", err)
	}
	return nil
}

// readResult reads stdout, stderr and exit frames.
func readResult(c net.Conn) (transport.ExecResult, error) {
	var res transport.ExecResult
	for {
		typ, data, err := readFrame(c)
		if err != nil {
			return res, fmt.Errorf("keeper exec: %w", err)
		}
		switch typ {
		case frameStdout:
			res.Stdout = append(res.Stdout, data...)
		case frameStderr:
			res.Stderr = append(res.Stderr, data...)
		case frameExit:
			if len(data) != 4 {
				return res, errors.New("keeper exec: bad exit frame")
			}
			res.ExitCode = int(int32(binary.BigEndian.Uint32(data)))
			return res, nil
		case frameError:
			return res, fmt.Errorf("keeper exec: %s", data)
		default:
			return res, fmt.Errorf("keeper exec: unexpected frame %d", typ)
		}
	}
}
