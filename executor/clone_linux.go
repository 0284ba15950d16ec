package executor

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// cloneOrCopy makes dst share src's blocks with FICLONE where the file
// system supports it (once it says it does not, no more tries), else
// copies with copyContent. It returns the bytes dst now holds.
func (s *Store) cloneOrCopy(dst, src *os.File, size int64) (int64, error) {
	if !s.noClone.Load() {
		err := unix.IoctlFileClone(int(dst.Fd()), int(src.Fd()))
		if err == nil {
			fi, err := dst.Stat()
			if err != nil {
				return 0, err
			}
			return fi.Size(), nil
		}
		if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EXDEV) {
			s.noClone.Store(true)
		}
	}
	return copyContent(dst, src, size)
}
