package snapshot

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/ferry-ml/ferry/internal/fsutil"
)

// The stat cache remembers, per source root, each regular file's stat key
// and content hash, so that a file whose size, mtime, ctime, inode and mode
// are unchanged is not read again (restic's fileChanged). It is one file per
// root under Options.CacheDir, named by the SHA-256 of the absolute root
// path, 0600 in a 0700 directory, written with temp file + rename only when
// something changed.
//
// Racy entries (git's "racily clean" problem): a file's timestamps come from
// a coarse clock, so a file written twice within one tick keeps the same
// mtime and ctime, and a write that lands just after it was hashed would go
// unseen. The cache therefore stores the time its scan started (the
// watermark) and trusts an entry only when both its mtime and ctime are
// older than the watermark by more than racyWindow, well above any local
// file system's timestamp granularity (ext4: one jiffy; FAT: 2 s). A racy
// entry is re-hashed, and the cache rewritten with a new watermark, so it is
// trusted on the scan after that.
//
// File format, version 1 (integers big-endian, fixed width):
//
//	magic      8 bytes  "FERRYSC1"
//	watermark  int64    scan start, Unix nanoseconds
//	count      uint32
//	count times, sorted by path (byte order):
//	  pathLen uint16, path bytes
//	  size int64, mtime int64, ctime int64 (ns), inode uint64, mode uint32
//	  blob   32 bytes
//	crc        uint32   CRC-32C of everything before it
//
// A cache that is missing, truncated or fails its CRC is ignored (every
// file is hashed again), so no fsync is needed.
const (
	statCacheMagic  = "FERRYSC1"
	racyWindow      = 2 * time.Second
	cacheHeaderLen  = 8 + 8 + 4
	cacheEntryFixed = 2 + 8 + 8 + 8 + 8 + 4 + 32
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fileKey is what the stat cache compares to decide that a file is
// unchanged: size, mtime and ctime in nanoseconds, inode number, and the
// mode with its type bits. Users cannot set ctime, so a content change that
// restores the old mtime (cp -p, rsync -t) is still seen.
type fileKey struct {
	Size  int64
	Mtime int64
	Ctime int64
	Ino   uint64
	Mode  fs.FileMode
}

// newest returns the later of mtime and ctime.
func (k fileKey) newest() int64 { return max(k.Mtime, k.Ctime) }

// fallbackKey is the key where the platform's stat has no ctime or inode.
func fallbackKey(fi fs.FileInfo) fileKey {
	t := fi.ModTime().UnixNano()
	return fileKey{Size: fi.Size(), Mtime: t, Ctime: t, Mode: fi.Mode()}
}

// cacheEntry is one regular file in the stat cache.
type cacheEntry struct {
	path string
	key  fileKey
	blob BlobID
}

// statCache is the loaded cache of one source root.
type statCache struct {
	watermark int64 // Unix ns when the scan that wrote it started
	entries   []cacheEntry
}

// cacheFile returns the cache file for root (an absolute path) in dir.
func cacheFile(dir, root string) string {
	sum := sha256.Sum256([]byte(root))
	return filepath.Join(dir, hex.EncodeToString(sum[:16]))
}

// trusted reports whether an entry with key k may be reused: it is older
// than the watermark by more than the racy window.
func (c *statCache) trusted(k fileKey, racy time.Duration) bool {
	return k.newest() < c.watermark-int64(racy)
}

// cursor looks entries up by path in increasing path order, which is the
// order Walk returns; it turns lookups into one merge pass with no map.
type cursor struct {
	entries []cacheEntry
	i       int
}

// find returns the entry for path, or nil. Calls must come in increasing
// path order; an out-of-order call only misses.
func (c *cursor) find(path string) *cacheEntry {
	for c.i < len(c.entries) && c.entries[c.i].path < path {
		c.i++
	}
	if c.i < len(c.entries) && c.entries[c.i].path == path {
		return &c.entries[c.i]
	}
	return nil
}

// loadedCache is a stat cache being loaded: the cache and the reason it
// was not usable, once done is closed.
type loadedCache struct {
	done  chan struct{}
	cache *statCache
	err   error
}

// preloadCache starts loading the stat cache of root from dir on a
// goroutine of its own; nil when dir is "" (no cache).
func preloadCache(dir, root string) *loadedCache {
	if dir == "" {
		return nil
	}
	l := &loadedCache{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.cache, l.err = loadStatCache(cacheFile(dir, root))
	}()
	return l
}

// loadStatCache reads a cache file. A missing file is an empty cache with
// no error; a damaged one is an error (the caller logs it and starts empty).
func loadStatCache(path string) (*statCache, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &statCache{}, nil
	}
	if err != nil {
		return &statCache{}, fmt.Errorf("read stat cache: %w", err)
	}
	c, err := decodeStatCache(data)
	if err != nil {
		return &statCache{}, fmt.Errorf("decode stat cache %s: %w", path, err)
	}
	return c, nil
}

// decodeStatCache decodes a cache file. The entries' paths point into data,
// which the caller must not change afterwards (loadStatCache's buffer is its own).
func decodeStatCache(data []byte) (*statCache, error) {
	if len(data) < cacheHeaderLen+4 || string(data[:8]) != statCacheMagic {
		return nil, errors.New("bad magic or truncated")
	}
	body, sum := data[:len(data)-4], binary.BigEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, errors.New("checksum mismatch")
	}
	c := &statCache{watermark: int64(binary.BigEndian.Uint64(body[8:]))}
	count := binary.BigEndian.Uint32(body[16:])
	if uint64(count) > uint64(len(body)/cacheEntryFixed) {
		return nil, errors.New("entry count exceeds the data")
	}
	// The paths are strings over data itself: no copy of the file (a
	// tenth of a warm snapshot's allocations, and its largest memmove).
	b := body[cacheHeaderLen:]
	s := unsafe.String(unsafe.SliceData(b), len(b))
	c.entries = make([]cacheEntry, count)
	off := 0
	for i := range c.entries {
		n, err := decodeCacheEntry(b, s, off, &c.entries[i])
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		off += n
	}
	if off != len(b) {
		return nil, errors.New("trailing bytes")
	}
	return c, nil
}

// decodeCacheEntry decodes the entry at b[off:]; s is string(b).
func decodeCacheEntry(b []byte, s string, off int, e *cacheEntry) (int, error) {
	if len(b)-off < cacheEntryFixed {
		return 0, errors.New("truncated")
	}
	plen := int(binary.BigEndian.Uint16(b[off:]))
	if len(b)-off < cacheEntryFixed+plen {
		return 0, errors.New("truncated")
	}
	e.path = s[off+2 : off+2+plen]
	f := b[off+2+plen:]
	e.key = fileKey{
		Size:  int64(binary.BigEndian.Uint64(f[0:])),
		Mtime: int64(binary.BigEndian.Uint64(f[8:])),
		Ctime: int64(binary.BigEndian.Uint64(f[16:])),
		Ino:   binary.BigEndian.Uint64(f[24:]),
		Mode:  fs.FileMode(binary.BigEndian.Uint32(f[32:])),
	}
	copy(e.blob[:], f[36:68])
	return cacheEntryFixed + plen, nil
}

func (c *statCache) encode() []byte {
	size := cacheHeaderLen + 4
	for i := range c.entries {
		size += cacheEntryFixed + len(c.entries[i].path)
	}
	buf := make([]byte, 0, size)
	buf = append(buf, statCacheMagic...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(c.watermark))
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(c.entries)))
	for i := range c.entries {
		e := &c.entries[i]
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(e.path)))
		buf = append(buf, e.path...)
		for _, v := range []uint64{uint64(e.key.Size), uint64(e.key.Mtime), uint64(e.key.Ctime), e.key.Ino} {
			buf = binary.BigEndian.AppendUint64(buf, v)
		}
		buf = binary.BigEndian.AppendUint32(buf, uint32(e.key.Mode))
		buf = append(buf, e.blob[:]...)
	}
	return binary.BigEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
}

// save writes the cache to path with temp file + rename, creating its
// directory 0700.
func (c *statCache) save(path string) error {
	slices.SortFunc(c.entries, func(a, b cacheEntry) int { return strings.Compare(a.path, b.path) })
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create stat cache dir: %w", err)
	}
	if err := fsutil.WriteCacheFile(path, c.encode(), 0o600); err != nil {
		return fmt.Errorf("save stat cache: %w", err)
	}
	return nil
}

// Unix file type bits, as in st_mode.
const (
	sIFMT  = 0o170000
	sIFREG = 0o100000
	sIFLNK = 0o120000
	sIFDIR = 0o040000
)

// unixMode converts st_mode to an fs.FileMode for the types a snapshot
// cares about (regular files, symlinks, directories); any other type maps
// to fs.ModeIrregular.
func unixMode(m uint32) fs.FileMode {
	perm := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		perm |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		perm |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		perm |= fs.ModeSticky
	}
	switch m & sIFMT {
	case sIFREG:
		return perm
	case sIFLNK:
		return perm | fs.ModeSymlink
	case sIFDIR:
		return perm | fs.ModeDir
	}
	return perm | fs.ModeIrregular
}
