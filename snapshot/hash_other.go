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
	f, err := os.Open(path)
	if err != nil {
		return BlobID{}, err
	}
	defer f.Close()
	hs.h.Reset()
	for n := int64(0); n < size; {
		b := hs.buf[:min(int64(len(hs.buf)), size-n)]
		m, err := f.Read(b)
		hs.h.Write(b[:m])
		n += int64(m)
		if err == io.EOF && n < size {
			return BlobID{}, errShortRead
		}
		if err != nil && err != io.EOF {
			return BlobID{}, err
		}
	}
	var id BlobID
	hs.h.Sum(id[:0])
	return id, nil
}
