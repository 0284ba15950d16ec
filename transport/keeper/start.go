package keeper

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/ferry-ml/ferry/transport"
)

// A started command (opStart) is a conversation: stdin frames go to the
// command as they come, stdout frames come back as it writes, and the last
// frames are its stderr's tail and its exit status. Exec, by contrast,
// holds stdin until it ends and stdout until the command exits.

// start runs a command on the target and relays its stdio until it exits.
// The peer going away closes the session.
func (s *Server) start(ctx context.Context, c net.Conn, req request) error {
	var cmd *transport.Command
	err := s.retry(ctx, req.Target, func(tc *transport.Client) error {
		var err error
		cmd, err = tc.Start(ctx, req.Argv)
		return err
	})
	if err := respond(c, err); err != nil || cmd == nil {
		if cmd != nil {
			cmd.Close()
		}
		return err
	}
	defer cmd.Close()
	go relayStdin(c, cmd)
	buf := make([]byte, 32<<10)
	for {
		n, rerr := cmd.Stdout.Read(buf)
		if n > 0 {
			if err := writeFrame(c, frameStdout, buf[:n]); err != nil {
				return err
			}
		}
		if rerr != nil {
			break
		}
	}
	res, err := cmd.Wait()
	if err != nil {
		return writeFrame(c, frameError, []byte(err.Error()))
	}
	return writeEnd(c, res)
}

// relayStdin copies stdin frames to the command until the end-of-stdin
// frame; anything else, or the peer's end, closes the session.
func relayStdin(c net.Conn, cmd *transport.Command) {
	for {
		typ, data, err := readFrame(c)
		switch {
		case err == nil && typ == frameStdin:
			if _, err := cmd.Stdin.Write(data); err != nil {
				cmd.Close()
				return
			}
			continue
		case err == nil && typ == frameStdinEOF:
			cmd.Stdin.Close()
			c.Read(make([]byte, 1)) // the peer's end, or a byte it should not send
		}
		cmd.Close()
		return
	}
}

// Command is a command started through the keeper (see Client.StartCommand).
type Command struct {
	conn   net.Conn
	stdout *io.PipeReader

	done chan struct{}
	res  transport.ExecResult
	err  error

	closeOnce sync.Once
}

// StartCommand runs argv on t as transport.Client.Start does, through the
// keeper's connection.
func (k *Client) StartCommand(ctx context.Context, t Target, argv []string) (*Command, error) {
	c, err := k.open(ctx, request{Op: opStart, Target: t, Argv: argv})
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	cmd := &Command{conn: c, stdout: pr, done: make(chan struct{})}
	go cmd.readFrames(pw)
	return cmd, nil
}

// readFrames passes stdout on to the pipe and keeps the end's frames.
func (cmd *Command) readFrames(pw *io.PipeWriter) {
	defer close(cmd.done)
	for {
		typ, data, err := readFrame(cmd.conn)
		if err != nil {
			cmd.err = fmt.Errorf("keeper: started command: %w", err)
			pw.CloseWithError(cmd.err)
			return
		}
		switch typ {
		case frameStdout:
			if _, err := pw.Write(data); err != nil {
				cmd.err = fmt.Errorf("keeper: started command: stdout not read: %w", err)
				cmd.conn.Close()
				return
			}
		case frameStderr:
			cmd.res.Stderr = append(cmd.res.Stderr, data...)
		case frameExit:
			if len(data) != 4 {
				cmd.err = errors.New("keeper: started command: bad exit frame")
			} else {
				cmd.res.ExitCode = int(int32(binary.BigEndian.Uint32(data)))
			}
			pw.Close()
			return
		case frameError:
			cmd.err = fmt.Errorf("keeper: started command: %s", data)
			pw.CloseWithError(cmd.err)
			return
		default:
			cmd.err = fmt.Errorf("keeper: started command: unexpected frame %d", typ)
			pw.CloseWithError(cmd.err)
			return
		}
	}
}

// Stdout is the command's stdout; read it to its end, then call Wait.
func (cmd *Command) Stdout() io.Reader { return cmd.stdout }

// Write sends p to the command's stdin.
func (cmd *Command) Write(p []byte) (int, error) {
	if err := writeFrame(cmd.conn, frameStdin, p); err != nil {
		return 0, fmt.Errorf("keeper: started command: stdin: %w", err)
	}
	return len(p), nil
}

// CloseStdin sends EOF to the command's stdin.
func (cmd *Command) CloseStdin() error {
	return writeFrame(cmd.conn, frameStdinEOF, nil)
}

// Wait returns the command's exit status and stderr tail once it exited.
func (cmd *Command) Wait() (transport.ExecResult, error) {
	<-cmd.done
	return cmd.res, cmd.err
}

// Close ends the conversation; the keeper closes the session.
func (cmd *Command) Close() error {
	var err error
	cmd.closeOnce.Do(func() {
		err = cmd.conn.Close()
		cmd.stdout.Close()
	})
	return err
}
