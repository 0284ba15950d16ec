//go:build !unix

package snapshot

import (
	"io"
	"os"
)

// hashFile returns the SHA-256 of the first size bytes of the file at path
// (a file that grew shows in the lstat that follows; one that shrank fails
// with errShortRead), reading through the pooled buffer.
func (hs *hasher) hashFile(path string, size int64) (BlobID, error) {
	return hs.readFile(path, size, func() []byte { return hs.buf }, nil)
}

// readFile hashes the first size bytes of path, reading into the buffers
// next returns and passing each filled one to give (when not nil), which
// must treat it as read-only.
func (hs *hasher) readFile(path string, size int64, next func() []byte, give func([]byte)) (BlobID, error) {
	f, err := os.Open(path)
	if err != nil {
		return BlobID{}, err
	}
	defer f.Close()
	hs.h.Reset()
	for n := int64(0); n < size; {
		buf := next()
		b := buf[:min(int64(len(buf)), size-n)]
		m, err := io.ReadAtLeast(f, b, 1)
		if m == 0 && (err == io.EOF || err == io.ErrUnexpectedEOF) {
			return BlobID{}, errShortRead
		}
		if err != nil {
			return BlobID{}, err
		}
		if give != nil {
			give(b[:m])
		}
		hs.h.Write(b[:m])
		n += int64(m)
	}
	var id BlobID
	hs.h.Sum(id[:0])
	return id, nil
}
