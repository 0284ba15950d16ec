package snapshot

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-ml/ferry/internal/cdc"
)

// maxHashAttempts bounds how often a file that keeps changing while it is
// read is read again before Take gives up on it.
const maxHashAttempts = 5

// hashBufSize is the read buffer size: large enough that a big file costs
// few read calls, small enough to pool one per worker.
const hashBufSize = 256 << 10

// errVanished marks a file that disappeared (or stopped being a file or
// symlink) between the walk and the hash. Take leaves it out of the
// manifest, as if the walk had run a moment later.
var errVanished = errors.New("vanished")

// hasher is one worker's reusable state, pooled to keep the per-file path
// free of allocations.
type hasher struct {
	buf []byte
	h   hash.Hash
}

var hasherPool = sync.Pool{New: func() any {
	return &hasher{buf: make([]byte, hashBufSize), h: sha256.New()}
}}

// hashed is the outcome of hashing one walked entry.
type hashed struct {
	entry Entry
	key   fileKey // the stat key the content was read under (files only)
	// stable is set when nothing changed while the content was read.
	stable bool
	// chunks are the file's content-defined chunks, when it was chunked
	// (Options.ChunkMin) and they cover the content hashed.
	chunks []cdc.Chunk
}

// hashPath hashes the file or symlink at abs (rel is its manifest path),
// which the walk saw with key. It reads a file, lstats it again and, when
// anything changed (size, mtime, ctime, inode, mode), reads it again, up to
// maxHashAttempts times, so a file is never recorded under a stale hash. It
// returns errVanished when the path no longer names a file or symlink.
// With chunk, a regular file is also cut into chunks (see chunked.go).
func (hs *hasher) hashPath(abs, rel string, key fileKey, chunk bool) (hashed, error) {
	for attempt := 0; attempt < maxHashAttempts; attempt++ {
		if key.Mode&fs.ModeSymlink != 0 {
			return hashSymlink(abs, rel)
		}
		if !key.Mode.IsRegular() {
			return hashed{}, errVanished
		}
		res, after, err := hs.hashOnce(abs, key, chunk)
		if err != nil {
			return hashed{}, classify(rel, err)
		}
		if res.stable {
			res.entry.Path = rel
			return res, nil
		}
		key = after
	}
	return hashed{}, fmt.Errorf("hash %s: still changing after %d reads", rel, maxHashAttempts)
}

// hashOnce reads the file and returns the result with the stat key seen
// afterwards; the result is good only when it is stable. A file
// modified so recently that a later write could share its timestamps is
// read twice and must hash the same both times. When the read fails but
// the path changed (replaced, or swapped for a symlink: ELOOP), the new key
// is returned with no error so that the caller looks again. With chunk,
// the file's chunks come from the first read.
func (hs *hasher) hashOnce(abs string, key fileKey, chunk bool) (hashed, fileKey, error) {
	start := time.Now().UnixNano()
	if !chunk {
		sum, err := hs.hashFile(abs, key.Size)
		return hs.settle(abs, key, sum, err, start)
	}
	sum, c, err := hs.hashChunked(abs, key.Size)
	res, after, err := hs.settle(abs, key, sum, err, start)
	if chunks := c.wait(); res.stable {
		res.chunks = chunks
	}
	return res, after, err
}

// settle is hashOnce after the first read, which gave sum or err.
func (hs *hasher) settle(abs string, key fileKey, sum BlobID, err error, start int64) (hashed, fileKey, error) {
	after, lerr := lstatKey(abs)
	if lerr != nil {
		return hashed{}, fileKey{}, lerr
	}
	if err != nil && after == key {
		return hashed{}, fileKey{}, err
	}
	if err != nil || after != key {
		return hashed{}, after, nil
	}
	if after.newest() >= start-int64(racyWindow) {
		again, err := hs.hashFile(abs, key.Size)
		if err != nil || again != sum {
			// Changed under us without a visible stat change: look again.
			return hashed{}, after, nil
		}
	}
	e := Entry{Mode: key.Mode.Perm(), Size: key.Size, Blob: sum}
	return hashed{entry: e, key: key, stable: true}, key, nil
}

// errShortRead reports a file that ended before the size lstat gave.
var errShortRead = errors.New("file shorter than its size")

// hashSymlink records a symlink: its target, hashed. The target is read
// with one readlink call, which is atomic.
func hashSymlink(abs, rel string) (hashed, error) {
	target, err := os.Readlink(abs)
	if err != nil {
		return hashed{}, classify(rel, err)
	}
	e := Entry{
		Path: rel, Mode: fs.ModeSymlink | 0o777, Size: int64(len(target)),
		Blob: BlobID(sha256.Sum256([]byte(target))), Link: target,
	}
	return hashed{entry: e, stable: true}, nil
}

// classify turns "gone" errors into errVanished and names the file in
// every other error (EACCES on an included file is an error).
func classify(rel string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP) {
		return errVanished
	}
	return fmt.Errorf("hash %s: %w", rel, err)
}
