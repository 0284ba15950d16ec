package executor

import (
	"context"
	"fmt"
	"io"
	"net"
)

// Proxy copies in to the daemon's socket and the socket's answers to out,
// for agents that cannot forward a unix socket over SSH. It returns once
// the daemon closed the connection, or once in ended and the daemon then
// finished answering (the socket is half-closed when in ends).
func Proxy(ctx context.Context, stateDir string, in io.Reader, out io.Writer) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", SocketPath(stateDir))
	if err != nil {
		return fmt.Errorf("connect to executor: %w", err)
	}
	defer conn.Close()
	uc := conn.(*net.UnixConn)
	// This goroutine ends when in ends (or errors), or, for a reader that
	// never ends, with the process: proxy is a process of its own.
	go func() {
		io.Copy(uc, in)
		uc.CloseWrite()
	}()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if _, err := io.Copy(out, uc); err != nil && ctx.Err() == nil {
		return fmt.Errorf("copy from executor: %w", err)
	}
	return ctx.Err()
}
