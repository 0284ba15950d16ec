package api

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// Pack format (version 1). A pack carries many blobs in one file so that
// small files travel in one SFTP write stream instead of one round trip
// each:
//
//	"FERRYPK1"                                   8 bytes of magic
//	record*:  id [32]byte  size uvarint  body [size]byte
//	trailer:  32 zero bytes  count uint64 (big endian)  sum [32]byte
//
// id is the SHA-256 of body. The end marker (32 zero bytes) cannot be a
// record id in practice. sum is the SHA-256 of the magic, every record
// header (id and size bytes) and the end marker and count: it detects a
// truncated pack and damaged framing. Record bodies are not part of sum
// because each body is already covered by its own id; hashing them twice
// would double the CPU cost of ingest for no extra safety. A damaged body
// therefore shows up as a mismatch of that one record (ErrBlobMismatch),
// and the rest of the pack stays usable.
const (
	// PackMagic starts every pack.
	PackMagic = "FERRYPK1"
	// MaxPackRecordSize bounds one record's size so that a damaged size
	// field cannot make a reader allocate or wait for absurd amounts.
	MaxPackRecordSize = 1 << 40
)

// ErrPackCorrupt is wrapped by every error that means the pack as a whole
// cannot be trusted: bad magic, truncation, damaged framing or trailer.
var ErrPackCorrupt = errors.New("corrupt pack")

// ErrBlobMismatch is returned by PackReader.Read at the end of a record
// whose body does not hash to its id. The pack itself is still readable:
// call Next to go on with the following record.
var ErrBlobMismatch = errors.New("blob content does not match its id")

// PackRecord describes one record of a pack.
type PackRecord struct {
	ID   [32]byte
	Size int64
}

// IDString returns the record's id as lower-case hex.
func (r PackRecord) IDString() string { return hex.EncodeToString(r.ID[:]) }

// PackWriter writes a pack to an io.Writer as a stream. It is not safe for
// concurrent use. After any error the pack is unusable and every later call
// returns that error.
type PackWriter struct {
	w     *bufio.Writer
	seg   *segmentWriter // nil for version 1
	sum   hash.Hash      // over magic, headers and trailer prefix
	count uint64
	bytes int64
	err   error
}

// NewPackWriter writes the magic to w and returns a writer for records.
// The caller closes w after Close.
func NewPackWriter(w io.Writer) (*PackWriter, error) {
	p := &PackWriter{w: bufio.NewWriterSize(w, 256<<10), sum: sha256.New()}
	p.writeHeader([]byte(PackMagic))
	return p, p.err
}

// Add appends one record with exactly size bytes read from r. id must be
// the SHA-256 of those bytes; the writer does not check it (the executor
// does, and rejects a record that does not match).
func (p *PackWriter) Add(id [32]byte, r io.Reader, size int64) error {
	if p.err != nil {
		return p.err
	}
	if size < 0 || size > MaxPackRecordSize {
		p.err = fmt.Errorf("add record %x: size %d out of range", id[:4], size)
		return p.err
	}
	var hdr [32 + binary.MaxVarintLen64]byte
	copy(hdr[:], id[:])
	n := binary.PutUvarint(hdr[32:], uint64(size))
	if p.writeHeader(hdr[:32+n]); p.err != nil {
		return p.err
	}
	copied, err := io.CopyN(p.w, r, size)
	if err != nil {
		p.err = fmt.Errorf("add record %x: %w (copied %d of %d bytes)", id[:4], err, copied, size)
		return p.err
	}
	p.count++
	p.bytes += size
	return nil
}

// NewPackWriterCompressed writes a version 2 pack (see PackMagicZstd)
// compressed at level c; CompressNone writes version 1.
func NewPackWriterCompressed(w io.Writer, c Compression) (*PackWriter, error) {
	if c == CompressNone {
		return NewPackWriter(w)
	}
	seg, err := newSegmentWriter(w, c)
	if err != nil {
		return nil, err
	}
	p := &PackWriter{w: bufio.NewWriterSize(seg, 256<<10), seg: seg, sum: sha256.New()}
	p.sum.Write([]byte(PackMagicZstd))
	if _, err := w.Write([]byte(PackMagicZstd)); err != nil {
		p.err = fmt.Errorf("write pack: %w", err)
	}
	return p, p.err
}

// Close writes the trailer and flushes. It does not close the underlying
// writer.
func (p *PackWriter) Close() error {
	if p.err != nil {
		return p.err
	}
	var t [32 + 8]byte
	binary.BigEndian.PutUint64(t[32:], p.count)
	if p.writeHeader(t[:]); p.err != nil {
		return p.err
	}
	if _, err := p.w.Write(p.sum.Sum(nil)); err != nil {
		p.err = fmt.Errorf("write pack trailer: %w", err)
		return p.err
	}
	if err := p.w.Flush(); err != nil {
		p.err = fmt.Errorf("flush pack: %w", err)
		return p.err
	}
	if p.seg != nil {
		if err := p.seg.Close(); err != nil {
			p.err = err
			return p.err
		}
	}
	p.err = errors.New("pack writer closed")
	return nil
}

// Compressed returns how many body and header bytes went compressed and
// how many were stored as they are (both 0 for version 1), once closed.
func (p *PackWriter) Compressed() (packed, stored int64) {
	if p.seg == nil {
		return 0, 0
	}
	return p.seg.packed, p.seg.stored
}

// Count returns the number of records added so far.
func (p *PackWriter) Count() int { return int(p.count) }

// Bytes returns the total body bytes added so far.
func (p *PackWriter) Bytes() int64 { return p.bytes }

func (p *PackWriter) writeHeader(b []byte) {
	if p.err != nil {
		return
	}
	p.sum.Write(b)
	if _, err := p.w.Write(b); err != nil {
		p.err = fmt.Errorf("write pack: %w", err)
	}
}
