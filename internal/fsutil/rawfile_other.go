//go:build !unix

package fsutil

import (
	"io"
	"os"
)

// OpenSource opens a regular file of a source tree for one sequential
// read (os.Open where there is no raw open(2)).
func OpenSource(path string) (io.ReadCloser, error) { return os.Open(path) }
