package transport

import (
	"context"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/ssh"
)

// Command is a remote command started by Start: a conversation over its
// stdin and stdout while it runs, where Exec would hold both until it
// exits. The first contact with a target uses one to install the executor
// only when the target says it lacks it, in one remote process.
type Command struct {
	// Stdin is the command's stdin; Close sends EOF.
	Stdin io.WriteCloser
	// Stdout is the command's stdout, read by the caller to its end.
	Stdout io.Reader

	session *ssh.Session
	stderr  *tailBuffer
	client  *Client
	name    string
}

// Start runs argv on the server through the login shell, quoted as Exec
// quotes it, and returns at once. ctx bounds only the start; Close ends
// the session. Read Stdout to its end, then call Wait.
func (c *Client) Start(ctx context.Context, argv []string) (*Command, error) {
	if len(argv) == 0 {
		return nil, errors.New("start command: empty command")
	}
	s, err := c.newSession(ctx)
	if err != nil {
		return nil, fmt.Errorf("start %s: open session: %w", argv[0], err)
	}
	cmd := &Command{session: s, stderr: &tailBuffer{max: stderrTailMax}, client: c, name: argv[0]}
	cmd.Stdin, err = s.StdinPipe()
	if err == nil {
		cmd.Stdout, err = s.StdoutPipe()
	}
	if err == nil {
		s.Stderr = cmd.stderr
		err = s.Start(QuoteArgs(argv))
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("start %s: %w", argv[0], c.lostOr(err))
	}
	return cmd, nil
}

// Wait waits for the command to exit and returns its exit status and the
// last 32 KiB of its stderr (Stdout is left nil: the caller read it). An
// error means the exit status could not be learnt (the connection ended).
func (cmd *Command) Wait() (ExecResult, error) {
	code, err := exitCode(cmd.session.Wait())
	res := ExecResult{ExitCode: code, Stderr: cmd.stderr.bytes()}
	if err != nil {
		return res, fmt.Errorf("remote command %s: %w", cmd.name, cmd.client.lostOr(err))
	}
	return res, nil
}

// Close closes the session: the command loses its stdio (OpenSSH does not
// kill it, as with Exec's cancel).
func (cmd *Command) Close() error {
	if err := cmd.session.Close(); err != nil && !errors.Is(err, io.EOF) {
		return ignoreClosed(err)
	}
	return nil
}
