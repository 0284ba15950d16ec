package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"sync"
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
	// Start runs a script as Script does and returns while it runs, for a
	// conversation over its stdin and stdout. ctx bounds only the start.
	Start(ctx context.Context, script string, args ...string) (startedScript, error)
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

// startedScript is a script that endpoint.Start started.
type startedScript interface {
	// Write sends bytes to its stdin.
	io.Writer
	// CloseStdin sends EOF to its stdin.
	CloseStdin() error
	// Stdout is its stdout, to be read to the end before Wait.
	Stdout() io.Reader
	// Wait returns its exit status and stderr (the last 32 KiB at
	// least), Stdout left nil; err is for transport failures only.
	Wait() (scriptResult, error)
	// Close ends it, or what is left of the conversation with it.
	Close() error
}

// localEndpoint is this machine.
type localEndpoint struct{}

func (localEndpoint) Script(ctx context.Context, script string, args ...string) (scriptResult, error) {
	cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", script, "sh"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
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

func (localEndpoint) Start(ctx context.Context, script string, args ...string) (startedScript, error) {
	cmd := exec.Command("/bin/sh", append([]string{"-c", script, "sh"}, args...)...)
	l := &localScript{cmd: cmd}
	var err error
	if l.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("run sh: %w", err)
	}
	if l.stdout, err = cmd.StdoutPipe(); err != nil {
		return nil, fmt.Errorf("run sh: %w", err)
	}
	cmd.Stderr = &l.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run sh: %w", err)
	}
	return l, nil
}

// localScript is a script started on this machine.
type localScript struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.Reader
	stderr bytes.Buffer

	once sync.Once
	werr error
}

func (l *localScript) Write(p []byte) (int, error) { return l.stdin.Write(p) }
func (l *localScript) CloseStdin() error           { return l.stdin.Close() }
func (l *localScript) Stdout() io.Reader           { return l.stdout }

func (l *localScript) Wait() (scriptResult, error) {
	l.once.Do(func() { l.werr = l.cmd.Wait() })
	err := l.werr
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return scriptResult{}, fmt.Errorf("run sh: %w", err)
	}
	return scriptResult{Stderr: l.stderr.Bytes(), ExitCode: l.cmd.ProcessState.ExitCode()}, nil
}

// Close kills the script if it still runs (and reaps it).
func (l *localScript) Close() error {
	l.cmd.Process.Kill()
	go l.Wait()
	return nil
}
