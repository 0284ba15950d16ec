package api

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
)

// PackReader iterates over the records of a pack. It is not safe for
// concurrent use.
//
//	pr, err := NewPackReader(f)
//	for {
//		rec, err := pr.Next()
//		if err == io.EOF { break }  // trailer verified
//		if err != nil { ... }        // wraps ErrPackCorrupt
//		_, err = io.Copy(dst, pr)    // ErrBlobMismatch: this record is bad
//	}
type PackReader struct {
	r       *bufio.Reader
	seg     *segmentReader // nil for version 1
	sum     hash.Hash      // over magic and headers, as the writer computes it
	body    hash.Hash      // over the current record's body
	cur     PackRecord
	left    int64 // unread body bytes of cur
	checked bool  // cur's body hash has been compared
	count   uint64
	done    bool
}

// NewPackReader reads and checks the magic.
func NewPackReader(r io.Reader) (*PackReader, error) {
	p := &PackReader{r: bufio.NewReaderSize(r, 256<<10), sum: sha256.New(), body: sha256.New(), checked: true}
	magic := make([]byte, len(PackMagic))
	if err := p.readHeader(magic); err != nil {
		return nil, err
	}
	switch string(magic) {
	case PackMagic:
	case PackMagicZstd:
		seg, err := newSegmentReader(p.r)
		if err != nil {
			return nil, err
		}
		p.seg, p.r = seg, bufio.NewReaderSize(seg, 64<<10)
	default:
		return nil, fmt.Errorf("%w: bad magic %q", ErrPackCorrupt, magic)
	}
	return p, nil
}

// Close releases the decompressor of a version 2 pack.
func (p *PackReader) Close() {
	if p.seg != nil {
		p.seg.Close()
	}
}

// Next skips what is left of the current record and returns the next one.
// It returns io.EOF once the trailer has been read and verified; any damage
// is reported as an error wrapping ErrPackCorrupt.
func (p *PackReader) Next() (PackRecord, error) {
	if p.done {
		return PackRecord{}, io.EOF
	}
	if err := p.skip(); err != nil {
		return PackRecord{}, err
	}
	var id [32]byte
	if err := p.readHeader(id[:]); err != nil {
		return PackRecord{}, err
	}
	if id == ([32]byte{}) {
		return PackRecord{}, p.trailer()
	}
	size, err := p.readSize()
	if err != nil {
		return PackRecord{}, err
	}
	p.cur, p.left, p.checked = PackRecord{ID: id, Size: size}, size, false
	p.body.Reset()
	p.count++
	return p.cur, nil
}

// Read reads the current record's body. At its end Read returns io.EOF, or
// ErrBlobMismatch when the body does not hash to the record's id.
func (p *PackReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, p.finish()
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n, err := p.r.Read(b)
	p.body.Write(b[:n])
	p.left -= int64(n)
	if err != nil && p.left > 0 {
		return n, corrupt("read record body", err)
	}
	if p.left == 0 {
		return n, p.finish()
	}
	return n, nil
}

func (p *PackReader) finish() error {
	if !p.checked {
		p.checked = true
		var got [32]byte
		if !bytes.Equal(p.body.Sum(got[:0]), p.cur.ID[:]) {
			return fmt.Errorf("record %x: %w", p.cur.ID[:4], ErrBlobMismatch)
		}
	}
	return io.EOF
}

func (p *PackReader) skip() error {
	if p.left > 0 {
		n, err := p.r.Discard(int(min(p.left, 1<<62)))
		p.left -= int64(n)
		if err != nil {
			return corrupt("skip record body", err)
		}
	}
	p.checked = true
	return nil
}

func (p *PackReader) readSize() (int64, error) {
	size, err := binary.ReadUvarint(teeByteReader{p})
	if err != nil {
		return 0, corrupt("read record size", err)
	}
	if size > MaxPackRecordSize {
		return 0, fmt.Errorf("%w: record size %d too large", ErrPackCorrupt, size)
	}
	return int64(size), nil
}

func (p *PackReader) trailer() error {
	var cnt [8]byte
	if err := p.readHeader(cnt[:]); err != nil {
		return err
	}
	want := p.sum.Sum(nil)
	got := make([]byte, sha256.Size)
	if _, err := io.ReadFull(p.r, got); err != nil {
		return corrupt("read pack trailer", err)
	}
	if n := binary.BigEndian.Uint64(cnt[:]); n != p.count {
		return fmt.Errorf("%w: trailer counts %d records, read %d", ErrPackCorrupt, n, p.count)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%w: trailer checksum mismatch", ErrPackCorrupt)
	}
	if _, err := p.r.ReadByte(); err != io.EOF {
		return fmt.Errorf("%w: data after trailer", ErrPackCorrupt)
	}
	p.done = true
	return io.EOF
}

func (p *PackReader) readHeader(b []byte) error {
	if _, err := io.ReadFull(p.r, b); err != nil {
		return corrupt("read pack header", err)
	}
	p.sum.Write(b)
	return nil
}

// teeByteReader feeds the bytes of a uvarint into the header checksum.
type teeByteReader struct{ p *PackReader }

func (t teeByteReader) ReadByte() (byte, error) {
	c, err := t.p.r.ReadByte()
	if err == nil {
		t.p.sum.Write([]byte{c})
	}
	return c, err
}

// corrupt wraps a read error: running out of bytes means the pack is
// truncated (ErrPackCorrupt); any other error is the reader's own.
func corrupt(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s: truncated", ErrPackCorrupt, what)
	}
	return fmt.Errorf("%s: %w", what, err)
}
