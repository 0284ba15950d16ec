package keeper

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/ferry-ml/ferry/transport"
)

// requestTimeout bounds reading a request line.
const requestTimeout = 10 * time.Second

// handle serves one connection: one request and its stream.
func (s *Server) handle(ctx context.Context, c net.Conn) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(requestTimeout))
	var req request
	if err := readLine(c, &req); err != nil {
		s.log.Debug("bad request", "error", err)
		return
	}
	c.SetReadDeadline(time.Time{})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var err error
	switch req.Op {
	case opWatch:
		err = s.watch(ctx, c, req)
	case opUnix:
		err = s.unix(ctx, c, req)
	case opExec:
		err = s.exec(ctx, c, req)
	case opStart:
		err = s.start(ctx, c, req)
	case opTree:
		err = s.tree(c, req)
	case opStop:
		respond(c, nil)
		s.mu.Lock()
		s.stop()
		s.mu.Unlock()
	default:
		err = respond(c, fmt.Errorf("unknown operation %q", req.Op))
	}
	if err != nil {
		s.log.Debug("request ended", "op", req.Op, "error", err)
	}
}

// watch answers once t's connection is up, then holds the stream open
// until that connection ends (or the peer goes): the command's Lost.
func (s *Server) watch(ctx context.Context, c net.Conn, req request) error {
	tc, err := s.client(ctx, req.Target)
	if err != nil {
		return respond(c, &dialError{err})
	}
	if err := respond(c, nil); err != nil {
		return err
	}
	peerGone := make(chan struct{})
	go func() {
		io.Copy(io.Discard, c)
		close(peerGone)
	}()
	select {
	case <-tc.Done():
	case <-peerGone:
	case <-ctx.Done():
	}
	return nil
}

// unix connects the peer to a unix socket on the target.
// A spare (spare.go) saves the round trip of opening the stream.
func (s *Server) unix(ctx context.Context, c net.Conn, req request) error {
	remote := s.takeSpare(req.Target, req.Path)
	var err error
	if remote == nil {
		err = s.retry(ctx, req.Target, func(tc *transport.Client) error {
			var err error
			remote, err = tc.DialUnix(ctx, req.Path)
			return err
		})
	}
	if err := respond(c, err); err != nil || remote == nil {
		return errors.Join(err, closeIf(remote))
	}
	defer remote.Close()
	s.refillSpare(req.Target, req.Path)
	splice(c, remote)
	return nil
}

// splice copies both ways until one side ends, passing half-closes on.
func splice(a, b net.Conn) {
	var wg sync.WaitGroup
	cp := func(dst, src net.Conn) {
		defer wg.Done()
		io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else {
			dst.Close()
		}
	}
	wg.Add(2)
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
}

// exec runs a command on the target: stdin comes in frames, and stdout,
// stderr and the exit status go back in frames once it has exited. The
// peer going away cancels it.
func (s *Server) exec(ctx context.Context, c net.Conn, req request) error {
	if err := respond(c, nil); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stdin, err := readStdin(c)
	if err != nil {
		return err
	}
	// Anything more from the peer, or its end, means it gave up.
	go func() {
		c.Read(make([]byte, 1))
		cancel()
	}()
	var res transport.ExecResult
	err = s.retry(ctx, req.Target, func(tc *transport.Client) error {
		var err error
		res, err = tc.Exec(ctx, req.Argv, bytes.NewReader(stdin))
		return err
	})
	if err != nil {
		return writeFrame(c, frameError, []byte(err.Error()))
	}
	if err := writeFrame(c, frameStdout, res.Stdout); err != nil {
		return err
	}
	return writeEnd(c, res)
}

// writeEnd writes a command's last frames: its stderr, then its exit status.
func writeEnd(c net.Conn, res transport.ExecResult) error {
	var code [4]byte
	binary.BigEndian.PutUint32(code[:], uint32(int32(res.ExitCode)))
	return errors.Join(writeFrame(c, frameStderr, res.Stderr), writeFrame(c, frameExit, code[:]))
}

// maxStdin caps a command's stdin held by the keeper (the executor binary
// is the largest, about 5 MB compressed).
const maxStdin = 256 << 20

// readStdin reads stdin frames up to the end-of-stdin frame. It is read
// whole before the command starts, so that a retried command gets it again.
func readStdin(c net.Conn) ([]byte, error) {
	var buf []byte
	for {
		typ, data, err := readFrame(c)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		switch typ {
		case frameStdin:
			if len(buf)+len(data) > maxStdin {
				return nil, errors.New("stdin over the limit")
			}
			buf = append(buf, data...)
		case frameStdinEOF:
			return buf, nil
		default:
			return nil, fmt.Errorf("unexpected frame %d", typ)
		}
	}
}

func closeIf(c net.Conn) error {
	if c == nil {
		return nil
	}
	return c.Close()
}
