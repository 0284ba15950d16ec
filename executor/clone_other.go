//go:build !linux

package executor

import "os"

// cloneOrCopy copies src to dst (no FICLONE here).
func (s *Store) cloneOrCopy(dst, src *os.File, size int64) (int64, error) {
	return copyContent(dst, src, size)
}
