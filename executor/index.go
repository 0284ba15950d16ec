package executor

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ferry-ml/ferry/internal/fsutil"
	"github.com/hashicorp/go-hclog"
)

// blobStat is what the index remembers of a verified blob file. Any write
// or truncate changes its mtime (and a chmod changes its mode, which the
// store also checks). ctime is not used: run directories are materialised
// by hardlinking blobs, and every new link moves the blob's ctime. A user
// who writes a blob and then sets its mtime back on purpose defeats the
// check; the store belongs to that user anyway, and "missing --verify"
// re-hashes everything.
type blobStat struct {
	size  int64
	ino   uint64
	mtime int64 // nanoseconds
}

// Segment file: magic, records of (id, size, ino, mtime), then the SHA-256
// of everything before it. A segment that fails the check is deleted.
const (
	indexMagic     = "FERRYIX2"
	indexRecordLen = 32 + 8 + 8 + 8
	// maxSegments triggers compaction into one segment.
	maxSegments = 128
)

// index maps blob ids to the stat of their verified file. It is safe for
// concurrent use.
type index struct {
	dir, tmp string
	log      hclog.Logger

	mu       sync.Mutex
	m        map[[32]byte]blobStat
	segments []string // file names, oldest first
	seq      uint64
}

func openIndex(dir, tmp string, logger hclog.Logger) (*index, error) {
	x := &index{dir: dir, tmp: tmp, log: logger, m: make(map[[32]byte]blobStat)}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read blob index: %w", err)
	}
	for _, e := range ents {
		seq, ok := segmentSeq(e.Name())
		if !ok {
			continue
		}
		x.seq = max(x.seq, seq)
		if err := x.load(e.Name()); err != nil {
			x.log.Warn("dropping damaged index segment", "segment", e.Name(), "error", err)
			os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		x.segments = append(x.segments, e.Name())
	}
	if len(x.segments) > maxSegments/4 {
		x.mu.Lock()
		defer x.mu.Unlock()
		if err := x.compactLocked(); err != nil {
			x.log.Warn("compacting blob index", "error", err)
		}
	}
	return x, nil
}

func segmentSeq(name string) (uint64, bool) {
	s, ok := strings.CutSuffix(name, ".idx")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 16, 64)
	return n, err == nil
}

func (x *index) load(name string) error {
	b, err := os.ReadFile(filepath.Join(x.dir, name))
	if err != nil {
		return err
	}
	n := len(b) - len(indexMagic) - sha256.Size
	if n < 0 || n%indexRecordLen != 0 || string(b[:len(indexMagic)]) != indexMagic {
		return errors.New("bad size or magic")
	}
	if sum := sha256.Sum256(b[:len(b)-sha256.Size]); !bytes.Equal(sum[:], b[len(b)-sha256.Size:]) {
		return errors.New("checksum mismatch")
	}
	for r := b[len(indexMagic) : len(b)-sha256.Size]; len(r) > 0; r = r[indexRecordLen:] {
		var id [32]byte
		copy(id[:], r)
		x.m[id] = blobStat{
			size:  int64(binary.BigEndian.Uint64(r[32:])),
			ino:   binary.BigEndian.Uint64(r[40:]),
			mtime: int64(binary.BigEndian.Uint64(r[48:])),
		}
	}
	return nil
}

func (x *index) lookup(id [32]byte) (blobStat, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	st, ok := x.m[id]
	return st, ok
}

// add records verified blobs and persists them as a new segment. The
// segment is not fsynced: the index is a cache, and a torn segment is
// dropped on load.
func (x *index) add(recs map[[32]byte]blobStat) error {
	if len(recs) == 0 {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	seg := make(map[[32]byte]blobStat, len(recs))
	for id, st := range recs {
		x.m[id] = st
		seg[id] = st
	}
	if err := x.writeSegmentLocked(seg); err != nil {
		return err
	}
	if len(x.segments) > maxSegments {
		return x.compactLocked()
	}
	return nil
}

func (x *index) writeSegmentLocked(recs map[[32]byte]blobStat) error {
	buf := make([]byte, 0, len(indexMagic)+len(recs)*indexRecordLen+sha256.Size)
	buf = append(buf, indexMagic...)
	ids := make([][32]byte, 0, len(recs))
	for id := range recs {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	for _, id := range ids {
		st := recs[id]
		buf = append(buf, id[:]...)
		buf = binary.BigEndian.AppendUint64(buf, uint64(st.size))
		buf = binary.BigEndian.AppendUint64(buf, st.ino)
		buf = binary.BigEndian.AppendUint64(buf, uint64(st.mtime))
	}
	sum := sha256.Sum256(buf)
	buf = append(buf, sum[:]...)
	x.seq++
	name := fmt.Sprintf("%016x.idx", x.seq)
	if err := writeRename(x.tmp, filepath.Join(x.dir, name), buf); err != nil {
		return fmt.Errorf("write index segment: %w", err)
	}
	x.segments = append(x.segments, name)
	return nil
}

// compactLocked rewrites the whole map as one segment and removes the
// others. A crash in between leaves duplicates, which load tolerates.
func (x *index) compactLocked() error {
	old := x.segments
	x.segments = nil
	if err := x.writeSegmentLocked(x.m); err != nil {
		x.segments = old
		return err
	}
	for _, name := range old {
		os.Remove(filepath.Join(x.dir, name))
	}
	return nil
}

// writeRename writes data to name with fsutil's atomic writer, its temp
// file in tmpDir (the store's tmp/, swept at start).
func writeRename(tmpDir, name string, data []byte) error {
	return fsutil.WriteAtomicVia(tmpDir, tmpPrefix+"w-", name, 0o600, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
