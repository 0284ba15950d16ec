package snapshot

import (
	"io"

	"github.com/ferry-ml/ferry/internal/cdc"
)

// Edited large files (Options.ChunkMin) are cut into content-defined
// chunks while they are hashed, from the same read: the sync then sends
// only the chunks the target lacks without reading the file again. The
// reading goroutine hashes the whole file and hands each buffer to a
// second goroutine that cuts and hashes the chunks, so on two cores this
// costs about what the chunking alone costs, and the racily-clean second
// read (hashOnce) overlaps the chunking too.

// Chunking buffers: chunkBufs of chunkBufSize each are in flight per file,
// which bounds memory whatever the file's size.
const (
	chunkBufs    = 4
	chunkBufSize = 128 << 10
)

// chunking is the chunking of one file read, running beside the read.
type chunking struct {
	done chan chunkResult
	size int64 // the bytes the read handed over, when it completed
}

type chunkResult struct {
	chunks []cdc.Chunk
	err    error
}

// wait returns the chunks, or nil when the read did not complete or the
// chunks do not cover exactly the bytes read.
func (c *chunking) wait() []cdc.Chunk {
	r := <-c.done
	if r.err != nil || c.size < 0 {
		return nil
	}
	var n int64
	for _, ch := range r.chunks {
		n += int64(ch.Size)
	}
	if n != c.size {
		return nil
	}
	return r.chunks
}

// hashChunked is hashFile that also chunks the file. The caller must call
// wait on the returned chunking, whatever the error.
func (hs *hasher) hashChunked(path string, size int64) (BlobID, *chunking, error) {
	free := make(chan []byte, chunkBufs)
	for range chunkBufs {
		free <- make([]byte, chunkBufSize)
	}
	full := make(chan []byte, chunkBufs)
	c := &chunking{done: make(chan chunkResult, 1), size: -1}
	go func() {
		chunks, err := cdc.All(&bufReader{full: full, free: free}, nil)
		c.done <- chunkResult{chunks, err}
	}()
	defer close(full)
	id, err := hs.readFile(path, size, func() []byte { return <-free }, func(b []byte) { full <- b })
	if err == nil {
		c.size = size
	}
	return id, c, err
}

// bufReader reads the buffers sent on full in order, handing each back on
// free once it is consumed; it ends when full is closed.
type bufReader struct {
	full <-chan []byte
	free chan<- []byte
	cur  []byte // unread part of the buffer held
	held []byte // the buffer held, to hand back
}

func (r *bufReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.held != nil {
			r.free <- r.held[:cap(r.held)]
			r.held = nil
		}
		b, ok := <-r.full
		if !ok {
			return 0, io.EOF
		}
		r.held, r.cur = b, b
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}
