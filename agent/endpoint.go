package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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
	// PutFile writes r to path on the target (temp name + rename), mode perm.
	PutFile(ctx context.Context, path string, r io.Reader, perm os.FileMode) error
	// Lost reports whether the connection has ended (dropped, reset, or
	// found dead by keepalives): every call fails until a new one is made.
	Lost() bool
	// Close releases the connection.
	Close() error
}

type scriptResult struct {
	Stdout, Stderr []byte
	ExitCode       int
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

func (localEndpoint) PutFile(_ context.Context, path string, r io.Reader, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	tmp := path + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	_, err = io.Copy(f, r)
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func (localEndpoint) Close() error { return nil }

// Lost is never true: there is no connection to lose.
func (localEndpoint) Lost() bool { return false }
