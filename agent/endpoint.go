package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
)

// endpoint is where an executor lives: this machine, or an SSH host. It is
// everything the agent needs besides the executor's own API.
type endpoint interface {
	// Script runs a POSIX sh script with positional args ("$1"...) and
	// returns its stdout, stderr and exit status; err is for transport
	// failures only.
	Script(ctx context.Context, script string, args ...string) (scriptResult, error)
	// DialUnix connects to a unix socket on the target.
	DialUnix(ctx context.Context, path string) (net.Conn, error)
	// ScriptInput is Script with stdin read from r (to its end).
	ScriptInput(ctx context.Context, r io.Reader, script string, args ...string) (scriptResult, error)
	// Lost reports whether the connection has ended (dropped, reset, or
	// found dead by keepalives): every call fails until a new one is made.
	Lost() bool
	// lostC is closed once Lost is true; nil when it never is.
	lostC() <-chan struct{}
	// Close releases the connection.
	Close() error
}

type scriptResult struct {
	Stdout, Stderr []byte
	ExitCode       int
}

// localEndpoint is this machine.
type localEndpoint struct{}

func (e localEndpoint) Script(ctx context.Context, script string, args ...string) (scriptResult, error) {
	return e.ScriptInput(ctx, nil, script, args...)
}

func (localEndpoint) ScriptInput(ctx context.Context, r io.Reader, script string, args ...string) (scriptResult, error) {
	cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", script, "sh"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return scriptResult{out.Bytes(), errb.Bytes(), ee.ExitCode()}, nil
	}
	if err != nil {
		return scriptResult{}, fmt.Errorf("run sh: %w", err)
	}
	return scriptResult{Stdout: out.Bytes(), Stderr: errb.Bytes()}, nil
}

func (localEndpoint) DialUnix(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}

func (localEndpoint) Close() error { return nil }

// Lost is never true: there is no connection to lose.
func (localEndpoint) Lost() bool { return false }

func (localEndpoint) lostC() <-chan struct{} { return nil }
