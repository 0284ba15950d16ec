package api

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// Pack format version 2 is version 1 compressed: after the magic
// "FERRYPK2" (in the clear) comes a sequence of segments whose contents,
// concatenated, are exactly what follows the magic in version 1 (records
// and trailer, with the trailer's sum over the version 2 magic):
//
//	segment:  hdr uvarint (len<<1 | z)  data [len]byte
//
// z=0: data is stored as it is. z=1: data is one zstd frame that
// decompresses to at most SegmentSize bytes. A writer cuts the stream
// into segments of SegmentSize bytes and compresses each one on its own,
// so memory stays bounded on both sides; a segment that does not shrink
// (random data such as checkpoints and archives, found by compressing a
// sample first) is stored as it is. Records are still verified against
// their ids after decompression, by the same reader as version 1.
const (
	// PackMagicZstd starts a compressed pack.
	PackMagicZstd = "FERRYPK2"
	// SegmentSize is the most bytes one segment carries, decompressed.
	SegmentSize = 1 << 20
	sampleSize  = 32 << 10
)

// Compression is a pack writer's compression level.
type Compression int

// Compression levels, chosen by the agent from the link's throughput.
const (
	CompressNone Compression = iota // version 1, no CPU spent
	CompressFast                    // zstd's fastest level
	CompressMore                    // zstd's better level (about zstd -7), for slow links
)

// segmentWriter cuts what is written into compressed or stored segments.
type segmentWriter struct {
	w      io.Writer
	enc    *zstd.Encoder
	buf    []byte // pending plain bytes, < SegmentSize
	out    []byte // scratch for compressed data
	hdr    [binary.MaxVarintLen64]byte
	stored int64 // plain bytes written as they are
	packed int64 // plain bytes written compressed
}

func newSegmentWriter(w io.Writer, c Compression) (*segmentWriter, error) {
	level := zstd.SpeedFastest
	if c >= CompressMore {
		// Not SpeedDefault: on source and CSV text it packs no smaller
		// than SpeedFastest (12.48 against 12.44 MB of BENCHMARKS.md's
		// project), while this level packs 5% smaller at 81 MB/s a core.
		level = zstd.SpeedBetterCompression
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(SegmentSize), zstd.WithEncoderCRC(false))
	if err != nil {
		return nil, fmt.Errorf("create zstd encoder: %w", err)
	}
	return &segmentWriter{w: w, enc: enc, buf: make([]byte, 0, SegmentSize)}, nil
}

func (s *segmentWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), SegmentSize-len(s.buf))
		s.buf = append(s.buf, p[:k]...)
		p = p[k:]
		if len(s.buf) == SegmentSize {
			if err := s.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// flush writes the pending bytes as one segment.
func (s *segmentWriter) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	data, z := s.buf, uint64(0)
	if s.worthCompressing() {
		s.out = s.enc.EncodeAll(s.buf, s.out[:0])
		if len(s.out) < len(s.buf)-len(s.buf)/16 {
			data, z = s.out, 1
		}
	}
	if z == 1 {
		s.packed += int64(len(s.buf))
	} else {
		s.stored += int64(len(s.buf))
	}
	n := binary.PutUvarint(s.hdr[:], uint64(len(data))<<1|z)
	if _, err := s.w.Write(s.hdr[:n]); err != nil {
		return fmt.Errorf("write pack segment: %w", err)
	}
	if _, err := s.w.Write(data); err != nil {
		return fmt.Errorf("write pack segment: %w", err)
	}
	s.buf = s.buf[:0]
	return nil
}

// worthCompressing compresses a sample of a large segment first, so that
// random data costs a thirty-second of a full attempt.
func (s *segmentWriter) worthCompressing() bool {
	if len(s.buf) <= 2*sampleSize {
		return true
	}
	s.out = s.enc.EncodeAll(s.buf[:sampleSize], s.out[:0])
	return len(s.out) < sampleSize*9/10
}

// Close flushes the last segment and releases the encoder.
func (s *segmentWriter) Close() error {
	err := s.flush()
	s.enc.Close()
	return err
}

// segmentReader serves the decompressed contents of a segment stream.
type segmentReader struct {
	r     *bufio.Reader
	dec   *zstd.Decoder
	plain []byte // decompressed segment
	pos   int
	left  int // bytes left of a stored segment
	in    []byte
}

func newSegmentReader(r *bufio.Reader) (*segmentReader, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(SegmentSize),
		zstd.WithDecoderMaxWindow(SegmentSize), zstd.IgnoreChecksum(true))
	if err != nil {
		return nil, fmt.Errorf("create zstd decoder: %w", err)
	}
	return &segmentReader{r: r, dec: dec}, nil
}

func (s *segmentReader) Read(p []byte) (int, error) {
	for s.pos == len(s.plain) && s.left == 0 {
		if err := s.next(); err != nil {
			return 0, err
		}
	}
	if s.left > 0 {
		n, err := s.r.Read(p[:min(len(p), s.left)])
		s.left -= n
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return n, err
	}
	n := copy(p, s.plain[s.pos:])
	s.pos += n
	return n, nil
}

// next reads the next segment's header (and a compressed segment's data).
func (s *segmentReader) next() error {
	hdr, err := binary.ReadUvarint(s.r)
	if err != nil {
		return err // io.EOF at a segment boundary: the end of the stream
	}
	size, z := hdr>>1, hdr&1
	if size == 0 || size > SegmentSize {
		return fmt.Errorf("%w: segment of %d bytes", ErrPackCorrupt, size)
	}
	if z == 0 {
		s.left = int(size)
		return nil
	}
	if cap(s.in) < int(size) {
		s.in = make([]byte, SegmentSize)
	}
	s.in = s.in[:size]
	if _, err := io.ReadFull(s.r, s.in); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if s.plain, err = s.dec.DecodeAll(s.in, s.plain[:0]); err != nil {
		return fmt.Errorf("%w: decompress segment: %v", ErrPackCorrupt, err)
	}
	if len(s.plain) == 0 || len(s.plain) > SegmentSize {
		return fmt.Errorf("%w: segment decompresses to %d bytes", ErrPackCorrupt, len(s.plain))
	}
	s.pos = 0
	return nil
}

// Close releases the decoder.
func (s *segmentReader) Close() { s.dec.Close() }
