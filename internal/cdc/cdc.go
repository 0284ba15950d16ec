// Package cdc cuts data into content-defined chunks (FastCDC with a gear
// hash and normalized chunking; Xia et al., USENIX ATC 2016). A cut point
// depends only on the bytes just before it, so an edit moves the
// boundaries of the one or two chunks around it and no others: after a
// 4 KiB rewrite inside a large file, every other chunk keeps its content
// and its hash. The agent and the executor both chunk with this package,
// and the executor's version check guarantees they run the same code, so
// the same content always gives the same chunks on both sides.
package cdc

import (
	"crypto/sha256"
	"fmt"
	"io"
)

// Chunk sizes: a cut is never made before MinSize nor after MaxSize, and
// chunks average about AvgSize on random data (15 KiB measured).
const (
	MinSize = 4 << 10
	AvgSize = 16 << 10
	MaxSize = 64 << 10
)

// Normalized chunking (level 1): below AvgSize a cut needs 14 zero bits of
// the gear hash, past it 13, which narrows the spread of sizes. The bits
// are the top ones, so a cut depends on the last 50 bytes or so. Measured
// on random data: chunks average 15 KiB, and a 4 KiB rewrite at a random
// place makes new chunks of 23 KiB (median), 49 KiB (p90), 73 KiB (max
// of 200). A stronger normalization (16/12 bits) resynchronizes badly
// after an edit: 180 KiB of new chunks.
const (
	maskSmall uint64 = 0x3fff << 50 // 14 bits
	maskLarge uint64 = 0x1fff << 51 // 13 bits
)

// gear is the table of 256 pseudo-random words the rolling hash adds in;
// it is fixed (splitmix64 from a constant seed), so chunks never change
// between builds.
var gear = func() (t [256]uint64) {
	x := uint64(0x6665727279636463) // "ferrycdc"
	for i := range t {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		t[i] = z ^ (z >> 31)
	}
	return t
}()

// Cut returns the length of the first chunk of data: len(data) when data
// is no longer than MinSize, else a content-defined cut point in
// [MinSize, min(len(data), MaxSize)]. Call it with at least MaxSize bytes
// (or all that is left) to get the same cuts however the data is read.
func Cut(data []byte) int {
	n := len(data)
	if n <= MinSize {
		return n
	}
	n = min(n, MaxSize)
	normal := min(n, AvgSize)
	var h uint64
	i := MinSize
	for ; i < normal; i++ {
		h = (h << 1) + gear[data[i]]
		if h&maskSmall == 0 {
			return i + 1
		}
	}
	for ; i < n; i++ {
		h = (h << 1) + gear[data[i]]
		if h&maskLarge == 0 {
			return i + 1
		}
	}
	return n
}

// Chunk is one piece of a chunked stream.
type Chunk struct {
	ID     [32]byte // SHA-256 of the chunk's bytes
	Offset int64
	Size   int
}

// Chunker splits a stream into chunks, holding at most 2*MaxSize bytes.
type Chunker struct {
	r    io.Reader
	buf  []byte
	beg  int   // start of unconsumed data in buf
	end  int   // end of valid data in buf
	off  int64 // stream offset of buf[beg]
	eof  bool
	sink io.Writer // sees every byte, in order (may be nil)
}

// NewChunker chunks r. When sink is not nil every byte read from r is
// written to it as its chunk is returned (a hash of the whole stream,
// say).
func NewChunker(r io.Reader, sink io.Writer) *Chunker {
	return &Chunker{r: r, buf: make([]byte, 2*MaxSize), sink: sink}
}

// Next returns the next chunk and its bytes (valid until the next call),
// or io.EOF after the last one.
func (c *Chunker) Next() (Chunk, []byte, error) {
	if err := c.fill(); err != nil {
		return Chunk{}, nil, err
	}
	if c.beg == c.end {
		return Chunk{}, nil, io.EOF
	}
	data := c.buf[c.beg:c.end]
	b := data[:Cut(data)]
	n := len(b)
	ch := Chunk{ID: sha256.Sum256(b), Offset: c.off, Size: n}
	if c.sink != nil {
		if _, err := c.sink.Write(b); err != nil {
			return Chunk{}, nil, fmt.Errorf("cdc: write sink: %w", err)
		}
	}
	c.beg += n
	c.off += int64(n)
	return ch, b, nil
}

// fill makes sure at least MaxSize bytes are buffered, or all that is left.
func (c *Chunker) fill() error {
	if c.eof || c.end-c.beg >= MaxSize {
		return nil
	}
	copy(c.buf, c.buf[c.beg:c.end])
	c.end -= c.beg
	c.beg = 0
	for c.end < MaxSize && !c.eof {
		n, err := c.r.Read(c.buf[c.end:])
		c.end += n
		if err == io.EOF {
			c.eof = true
		} else if err != nil {
			return fmt.Errorf("cdc: read: %w", err)
		}
	}
	return nil
}

// All chunks r to its end and returns its chunks.
func All(r io.Reader, sink io.Writer) ([]Chunk, error) {
	c := NewChunker(r, sink)
	var out []Chunk
	for {
		ch, _, err := c.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
}
