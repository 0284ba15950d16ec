package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/crypto/ssh"
)

// stderrTailMax caps the remote stderr kept for errors.
const stderrTailMax = 32 << 10

// CommandError is returned by a StartConn connection's Read, in place of
// io.EOF, when the command exited with a non-zero status.
type CommandError struct {
	Command  string
	ExitCode int
	Stderr   string // the last 32 KiB, control characters stripped
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("remote command %s exited with status %d (remote output: %s)", e.Command, e.ExitCode, e.Stderr)
}

// StartConn runs argv on the server and returns a connection whose writes
// go to its stdin and whose reads come from its stdout: the fallback for
// servers that forbid unix socket forwarding. ctx bounds only the start.
// Reads end with io.EOF when the command exits 0, or with *CommandError.
// Closing the connection closes stdin and the session. Deadlines work.
func (c *Client) StartConn(ctx context.Context, argv []string) (net.Conn, error) {
	if len(argv) == 0 {
		return nil, errors.New("start command: empty command")
	}
	s, err := c.newSession(ctx)
	if err != nil {
		return nil, fmt.Errorf("start %s: open session: %w", argv[0], err)
	}
	cc, err := newCommandConn(s, argv[0])
	if err == nil {
		err = s.Start(QuoteArgs(argv))
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("start %s: %w", argv[0], c.lostOr(err))
	}
	cc.pump()
	return cc, nil
}

// commandConn is one half of a net.Pipe (for real deadlines) whose other
// half is pumped to and from the session's stdin and stdout.
type commandConn struct {
	net.Conn // the caller's half
	inner    net.Conn
	session  *ssh.Session
	stdin    io.WriteCloser
	stdout   io.Reader
	stderr   *tailBuffer
	name     string

	mu      sync.Mutex
	exitErr error // set before inner closes
}

func newCommandConn(s *ssh.Session, name string) (*commandConn, error) {
	stdin, err := s.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := s.StdoutPipe()
	if err != nil {
		return nil, err
	}
	tail := &tailBuffer{max: stderrTailMax}
	s.Stderr = tail
	outer, inner := net.Pipe()
	return &commandConn{Conn: outer, inner: inner, session: s, stdin: stdin, stdout: stdout, stderr: tail, name: name}, nil
}

// pump starts the two copy goroutines; both end when the command exits or
// the caller closes its half.
func (c *commandConn) pump() {
	go func() {
		io.Copy(c.stdin, c.inner)
		c.stdin.Close()
	}()
	go func() {
		io.Copy(c.inner, c.stdout)
		err := c.session.Wait()
		c.mu.Lock()
		c.exitErr = c.commandError(err)
		c.mu.Unlock()
		c.inner.Close()
	}()
}

func (c *commandConn) commandError(err error) error {
	code, waitErr := exitCode(err)
	if waitErr != nil {
		return fmt.Errorf("remote command %s: %w", c.name, waitErr)
	}
	if code == 0 {
		return nil
	}
	return &CommandError{Command: c.name, ExitCode: code, Stderr: c.stderr.String()}
}

// Read returns the command's stdout; at its end, the command's failure if
// it failed.
func (c *commandConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if errors.Is(err, io.EOF) {
		c.mu.Lock()
		if c.exitErr != nil {
			err = c.exitErr
		}
		c.mu.Unlock()
	}
	return n, err
}

// Close closes the caller's half and the session.
func (c *commandConn) Close() error {
	err := c.Conn.Close()
	c.session.Close()
	return err
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// bytes returns a copy of the tail as written.
func (b *tailBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf...)
}

// String returns the tail with control characters (other than newline and
// tab) removed.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return -1
		}
		return r
	}, string(b.buf)))
}
