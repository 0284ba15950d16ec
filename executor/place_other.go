//go:build !linux

package executor

import (
	"errors"
	"io"
)

// canPlace is false: unnamed files (O_TMPFILE) are Linux's; elsewhere a
// record goes to a named temp file renamed into place.
func canPlace(string) bool { return false }

func (s *Store) place([32]byte, io.Reader, int64) (blobStat, error) {
	return blobStat{}, errors.New("placing unnamed files is not supported here")
}
