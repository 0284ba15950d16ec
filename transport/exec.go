package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ExecResult is the outcome of a remote command that ran to completion.
type ExecResult struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int // 128+N when killed by signal N, as a shell reports it
}

// Exec runs argv on the server through the login shell, with argv quoted so
// that each element arrives as one argument, byte for byte. stdin may be
// nil; it is read to EOF (a reader that never ends keeps Exec waiting even
// after the command exits). A non-zero exit is not an error: see ExitCode.
// Cancelling ctx signals the command (best effort), closes the session and
// returns ctx's error at once. The whole
// output is buffered in memory.
func (c *Client) Exec(ctx context.Context, argv []string, stdin io.Reader) (ExecResult, error) {
	if len(argv) == 0 {
		return ExecResult{}, errors.New("exec: empty command")
	}
	s, err := c.newSession(ctx)
	if err != nil {
		return ExecResult{}, fmt.Errorf("exec %s: open session: %w", argv[0], err)
	}
	defer s.Close()
	var stdout, stderr bytes.Buffer
	s.Stdin, s.Stdout, s.Stderr = stdin, &stdout, &stderr
	if err := s.Start(QuoteArgs(argv)); err != nil {
		return ExecResult{}, fmt.Errorf("exec %s: %w", argv[0], c.lostOr(err))
	}
	waited := make(chan error, 1)
	// Wait returns when the command exits or the connection closes.
	go func() { waited <- s.Wait() }()
	select {
	case err = <-waited:
	case <-ctx.Done():
		// Best effort: OpenSSH may ignore the signal, and closing the
		// channel does not kill the command; it loses its stdio.
		s.Signal(ssh.SIGKILL)
		s.Close()
		return ExecResult{}, fmt.Errorf("exec %s: %w", argv[0], context.Cause(ctx))
	}
	res := ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	res.ExitCode, err = exitCode(err)
	if err != nil {
		return res, fmt.Errorf("exec %s: %w", argv[0], c.lostOr(err))
	}
	return res, nil
}

// newSession opens a session channel, giving up when ctx ends first (a
// session that opens later is closed at once).
func (c *Client) newSession(ctx context.Context) (*ssh.Session, error) {
	type result struct {
		s   *ssh.Session
		err error
	}
	c.sessionStarted() // its caller starts a command on it
	opened := make(chan result, 1)
	go func() {
		s, err := c.ssh.NewSession()
		opened <- result{s, err}
	}()
	select {
	case r := <-opened:
		if isSessionRefused(r.err) {
			return c.spare.session(ctx, r.err)
		}
		if r.err != nil {
			return nil, c.lostOr(r.err)
		}
		return r.s, nil
	case <-ctx.Done():
		go func() { // ends when the open completes or the connection closes
			if r := <-opened; r.s != nil {
				r.s.Close()
			}
		}()
		return nil, context.Cause(ctx)
	}
}

// exitCode maps a session's Wait error to an exit code; only failures to
// learn the exit status are returned as errors.
func exitCode(err error) (int, error) {
	var exitErr *ssh.ExitError
	if err == nil {
		return 0, nil
	}
	if !errors.As(err, &exitErr) {
		return -1, err
	}
	if exitErr.Signal() != "" {
		return 128 + signalNumber(exitErr.Signal()), nil
	}
	return exitErr.ExitStatus(), nil
}

// signalNumber maps SSH signal names (RFC 4254 6.10) to Linux numbers.
func signalNumber(name string) int {
	nums := map[string]int{"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "ABRT": 6, "FPE": 8, "KILL": 9,
		"USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15}
	return nums[name]
}

// QuoteArgs joins argv into one POSIX shell command line in which every
// element is one word, byte for byte: elements made only of safe characters
// stay bare; the rest are single-quoted, each embedded single quote written
// as close-quote, backslash, quote, open-quote. The empty string becomes a
// pair of quotes. Newlines survive inside quotes in sh, bash, dash and zsh
// (not in csh).
func QuoteArgs(argv []string) string {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = quoteArg(a)
	}
	return strings.Join(quoted, " ")
}

func quoteArg(a string) string {
	if a != "" && strings.Trim(a, safeShellChars) == "" {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}

// safeShellChars never need quoting in any position ('=' does: a first word
// like A=b would be an assignment; '~' would expand).
const safeShellChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:,@%+"
