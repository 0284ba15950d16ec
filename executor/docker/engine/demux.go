package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Streams of the multiplexed attach stream.
const (
	streamStdin  = 0
	streamStdout = 1
	streamStderr = 2
	streamSystem = 3 // the engine's own error
)

// maxSystemMessage bounds the engine's error frame that Demux reads.
const maxSystemMessage = 64 << 10

// Demux copies the output in r, an attached container's multiplexed stream
// (frames of an 8-byte header, the stream in its first byte and the
// payload's length big-endian in its last four, then the payload), to w,
// stdout and stderr interleaved as they came. It returns nil at the end of
// the stream, and the engine's message when it sends an error frame.
func Demux(w io.Writer, r io.Reader) error {
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read container output: %w", err)
		}
		n := int64(binary.BigEndian.Uint32(hdr[4:]))
		switch hdr[0] {
		case streamStdin, streamStdout, streamStderr:
			if _, err := io.CopyN(w, r, n); err != nil {
				return fmt.Errorf("copy container output: %w", err)
			}
		case streamSystem:
			msg, err := io.ReadAll(io.LimitReader(r, min(n, maxSystemMessage)))
			if err != nil {
				return fmt.Errorf("read the engine's error: %w", err)
			}
			return fmt.Errorf("container output: the engine says: %s", msg)
		default:
			return fmt.Errorf("read container output: unknown stream %d", hdr[0])
		}
	}
}
