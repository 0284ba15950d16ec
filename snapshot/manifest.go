package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"unsafe"

	"github.com/ferry-ml/ferry/internal/cdc"
)

// Entry is one file or symlink of a snapshot.
type Entry struct {
	// Path is relative to the source directory, "/"-separated, as raw bytes
	// (non-UTF-8 names are kept exactly). See CheckPath for the rules.
	Path string
	// Mode holds the type bits (none for a regular file, fs.ModeSymlink for a
	// symlink) and the permission bits (at most 0o777). Symlinks always have
	// fs.ModeSymlink|0o777.
	Mode fs.FileMode
	// Size is the content length; for a symlink, the length of Link.
	Size int64
	// Blob is the SHA-256 of the content; for a symlink, of Link.
	Blob BlobID
	// Link is a symlink's target, exactly as readlink returned it. Empty for
	// regular files.
	Link string
}

// IsSymlink reports whether e is a symlink.
func (e Entry) IsSymlink() bool { return e.Mode&fs.ModeSymlink != 0 }

// Manifest is a snapshot: its entries sorted by Path in byte order, with no
// two entries on the same path and no entry inside another's path (entries
// are files and symlinks, never directories).
type Manifest struct {
	Entries []Entry

	// chunks holds, by blob, the chunks of the edited large files Take cut
	// while hashing them (Options.ChunkMin); not part of the encoding.
	chunks map[BlobID][]cdc.Chunk
}

// Chunks returns the content-defined chunks of blob b when Take cut its
// file into chunks from the read that hashed it (Options.ChunkMin), or nil.
// They describe exactly the content that hashes to b.
func (m *Manifest) Chunks(b BlobID) []cdc.Chunk { return m.chunks[b] }

// Manifest encoding, version 1. All integers are big-endian and fixed-width,
// so that every manifest has exactly one encoding and its id is the SHA-256
// of that encoding:
//
//	magic    8 bytes  "FERRYMNF"
//	version  uint32   1
//	count    uint32   number of entries
//	count times, in strictly increasing byte order of path:
//	  pathLen  uint16   1..MaxPathLen
//	  path     pathLen bytes (see CheckPath)
//	  kind     uint8    1 = regular file, 2 = symlink
//	  perm     uint16   file: 0..0o777; symlink: exactly 0o777
//	  size     uint64   file: 0..2^63-1; symlink: linkLen
//	  blob     32 bytes SHA-256 of the content (symlink: of the link)
//	  linkLen  uint16   file: 0; symlink: 1..MaxPathLen
//	  link     linkLen bytes
//
// Nothing may follow the last entry.
const (
	manifestMagic   = "FERRYMNF"
	manifestVersion = 1
	kindFile        = 1
	kindSymlink     = 2
	headerLen       = 8 + 4 + 4
	minEntryLen     = 2 + 1 + 1 + 2 + 8 + 32 + 2
)

// MaxPathLen bounds the length in bytes of an entry's path and of a
// symlink's target (Linux's PATH_MAX).
const MaxPathLen = 4096

// ID returns the snapshot id: the SHA-256 of the canonical encoding,
// hashed as it is encoded through a small buffer (a large tree's encoding
// is megabytes that a short command would otherwise allocate and fault in).
func (m *Manifest) ID() ID {
	h := sha256.New()
	buf := make([]byte, 0, 32<<10)
	buf = binary.BigEndian.AppendUint32(append(buf, manifestMagic...), manifestVersion)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(m.Entries)))
	for i := range m.Entries {
		if len(buf) >= 28<<10 {
			h.Write(buf)
			buf = buf[:0]
		}
		buf = appendEntry(buf, &m.Entries[i])
	}
	h.Write(buf)
	return ID(h.Sum(nil))
}

// MarshalBinary returns the canonical encoding (documented above), after
// checking the manifest with Validate.
func (m *Manifest) MarshalBinary() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m.appendEncoding(nil), nil
}

// UnmarshalBinary decodes a canonical encoding, rejecting anything that
// MarshalBinary would not produce: a wrong magic or version, truncated or
// trailing bytes, unsorted or duplicate paths, unsafe paths (see CheckPath),
// entries inside other entries' paths, and inconsistent sizes, modes or
// symlink blobs. On error m is left unchanged.
func (m *Manifest) UnmarshalBinary(data []byte) error {
	entries, err := decodeEntries(data)
	if err != nil {
		return fmt.Errorf("decode manifest: %w", err)
	}
	dec := Manifest{Entries: entries}
	if err := dec.Validate(); err != nil {
		return fmt.Errorf("decode manifest: %w", err)
	}
	m.Entries = entries
	return nil
}

// ParseManifest decodes data (see UnmarshalBinary) and returns the manifest
// with its id, the SHA-256 of data, which a receiver compares with the id it
// was promised.
func ParseManifest(data []byte) (*Manifest, ID, error) {
	var m Manifest
	if err := m.UnmarshalBinary(data); err != nil {
		return nil, ID{}, err
	}
	return &m, ID(sha256.Sum256(data)), nil
}

// Files returns the number of entries.
func (m *Manifest) Files() int { return len(m.Entries) }

// Bytes returns the total size of all entries.
func (m *Manifest) Bytes() int64 {
	var n int64
	for i := range m.Entries {
		n += m.Entries[i].Size
	}
	return n
}

// Blobs returns each blob the manifest names once, in byte order.
func (m *Manifest) Blobs() []BlobID {
	ids := make([]BlobID, 0, len(m.Entries))
	for i := range m.Entries {
		ids = append(ids, m.Entries[i].Blob)
	}
	slices.SortFunc(ids, func(a, b BlobID) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(ids)
}

// Validate checks the manifest's invariants: paths valid (CheckPath), sorted
// and unique, no entry inside another entry's path (a symlink "a" and a file
// "a/b" would let a materialised file escape through the link), and each
// entry's mode, size and link consistent with its kind; at most
// MaxEntries entries.
func (m *Manifest) Validate() error {
	if err := checkCount(int64(len(m.Entries))); err != nil {
		return err
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		if err := CheckPath(e.Path); err != nil {
			return err
		}
		if i > 0 && m.Entries[i-1].Path >= e.Path {
			return fmt.Errorf("entry %q: paths not strictly sorted", e.Path)
		}
		if err := checkEntry(e); err != nil {
			return fmt.Errorf("entry %q: %w", e.Path, err)
		}
	}
	return checkNoNesting(m.Entries)
}

// CheckPath reports whether p is a safe relative path for a manifest entry:
// not empty, at most MaxPathLen bytes, not absolute, "/"-separated with no
// empty, "." or ".." component, and no NUL byte. A path that passes can be
// joined to a directory without leaving it (as long as no component is a
// symlink, which Validate ensures for the manifest's own entries).
func CheckPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case len(p) > MaxPathLen:
		return fmt.Errorf("path %.40q...: longer than %d bytes", p, MaxPathLen)
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Errorf("path %q: contains NUL", p)
	case p[0] == '/':
		return fmt.Errorf("path %q: absolute", p)
	}
	for c := range strings.SplitSeq(p, "/") {
		if c == "" || c == "." || c == ".." {
			return fmt.Errorf("path %q: empty, \".\" or \"..\" component", p)
		}
	}
	return nil
}

func checkEntry(e *Entry) error {
	if e.IsSymlink() {
		switch {
		case e.Mode != fs.ModeSymlink|0o777:
			return fmt.Errorf("symlink mode %v, want %v", e.Mode, fs.ModeSymlink|0o777)
		case e.Link == "" || len(e.Link) > MaxPathLen || strings.IndexByte(e.Link, 0) >= 0:
			return fmt.Errorf("symlink target %.40q: empty, too long or contains NUL", e.Link)
		case e.Size != int64(len(e.Link)):
			return fmt.Errorf("symlink size %d, want %d", e.Size, len(e.Link))
		case e.Blob != BlobID(sha256.Sum256([]byte(e.Link))):
			return errors.New("symlink blob is not the hash of its target")
		}
		return nil
	}
	switch {
	case e.Mode&^0o777 != 0:
		return fmt.Errorf("mode %v: only regular files and symlinks, permission bits 0o777", e.Mode)
	case e.Size < 0:
		return fmt.Errorf("negative size %d", e.Size)
	case e.Link != "":
		return errors.New("regular file with a link target")
	}
	return nil
}

// checkNoNesting rejects an entry whose path is a directory of another.
func checkNoNesting(entries []Entry) error {
	paths := make(map[string]struct{}, len(entries))
	for i := range entries {
		paths[entries[i].Path] = struct{}{}
	}
	for i := range entries {
		p := entries[i].Path
		for j := strings.LastIndexByte(p, '/'); j > 0; j = strings.LastIndexByte(p[:j], '/') {
			if _, ok := paths[p[:j]]; ok {
				return fmt.Errorf("entry %q: inside entry %q, which is not a directory", p, p[:j])
			}
		}
	}
	return nil
}

func (m *Manifest) appendEncoding(buf []byte) []byte {
	size := headerLen
	for i := range m.Entries {
		size += minEntryLen + len(m.Entries[i].Path) + len(m.Entries[i].Link)
	}
	buf = slices.Grow(buf, size)
	buf = append(buf, manifestMagic...)
	buf = binary.BigEndian.AppendUint32(buf, manifestVersion)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(m.Entries)))
	for i := range m.Entries {
		buf = appendEntry(buf, &m.Entries[i])
	}
	return buf
}

func appendEntry(buf []byte, e *Entry) []byte {
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(e.Path)))
	buf = append(buf, e.Path...)
	kind := byte(kindFile)
	if e.IsSymlink() {
		kind = kindSymlink
	}
	buf = append(buf, kind)
	buf = binary.BigEndian.AppendUint16(buf, uint16(e.Mode.Perm()))
	buf = binary.BigEndian.AppendUint64(buf, uint64(e.Size))
	buf = append(buf, e.Blob[:]...)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(e.Link)))
	return append(buf, e.Link...)
}

// decoder reads the fixed-width fields of the encoding; the first short
// read sets err and every later read returns zeros.
type decoder struct {
	data []byte
	err  error
	// all is the whole encoding (orig) as one string, made at the first
	// str (after the counts were checked against the data's size): paths
	// and link targets are substrings of it, not one allocation each.
	orig []byte
	all  string
}

// newDecoder reads data; all, when not "", holds its bytes as a string.
func newDecoder(data []byte, all string) *decoder {
	return &decoder{data: data, orig: data, all: all}
}

// str takes n bytes as a substring of all.
func (d *decoder) str(n int) string {
	if d.all == "" {
		d.all = string(d.orig)
	}
	off := len(d.orig) - len(d.data)
	if d.take(n) == nil {
		return ""
	}
	return d.all[off : off+n]
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.data) < n {
		d.err = errors.New("truncated")
		return nil
	}
	b := d.data[:n:n]
	d.data = d.data[n:]
	return b
}

func (d *decoder) u8() byte {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if b := d.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func decodeEntries(data []byte) ([]Entry, error) {
	return decodeEntriesIn(data, "")
}

// decodeEntriesOwned is decodeEntries for a buffer that is never written
// again: the entries' strings point into it instead of into a copy.
func decodeEntriesOwned(data []byte) ([]Entry, error) {
	return decodeEntriesIn(data, unsafe.String(unsafe.SliceData(data), len(data)))
}

// decodeEntriesIn decodes data; all, when not "", holds its bytes as a
// string.
func decodeEntriesIn(data []byte, all string) ([]Entry, error) {
	d := newDecoder(data, all)
	if magic := d.take(len(manifestMagic)); d.err != nil || string(magic) != manifestMagic {
		return nil, errors.New("not a ferry manifest (bad magic)")
	}
	if v := d.u32(); d.err == nil && v != manifestVersion {
		return nil, fmt.Errorf("unsupported manifest version %d (want %d)", v, manifestVersion)
	}
	count := d.u32()
	if d.err != nil {
		return nil, d.err
	}
	if err := checkCount(int64(count)); err != nil {
		return nil, err
	}
	if uint64(count) > uint64(len(d.data)/minEntryLen) {
		return nil, fmt.Errorf("entry count %d exceeds the data", count)
	}
	entries := make([]Entry, count)
	for i := range entries {
		if err := d.entry(&entries[i]); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
	}
	if len(d.data) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(d.data))
	}
	return entries, nil
}

func (d *decoder) entry(e *Entry) error {
	e.Path = d.str(int(d.u16()))
	kind := d.u8()
	perm := d.u16()
	size := d.u64()
	copy(e.Blob[:], d.take(len(e.Blob)))
	e.Link = d.str(int(d.u16()))
	if d.err != nil {
		return d.err
	}
	if perm&^0o777 != 0 || size > 1<<63-1 {
		return fmt.Errorf("path %q: bad permissions %#o or size %d", e.Path, perm, size)
	}
	e.Size = int64(size)
	switch kind {
	case kindFile:
		e.Mode = fs.FileMode(perm)
	case kindSymlink:
		e.Mode = fs.ModeSymlink | fs.FileMode(perm)
	default:
		return fmt.Errorf("path %q: unknown kind %d", e.Path, kind)
	}
	return nil
}
