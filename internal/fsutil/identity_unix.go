//go:build linux || darwin

package fsutil

import (
	"fmt"
	"os"
	"syscall"
)

// Identity names one version of a file: device, inode, size, mtime and
// ctime. A write, chmod or rename changes the ctime, which no one can set,
// so a file whose identity is unchanged has not been changed.
func Identity(fi os.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Sprintf("%d:%d", fi.Size(), fi.ModTime().UnixNano())
	}
	mtime, ctime := statTimes(st)
	return fmt.Sprintf("%d:%d:%d:%d:%d", st.Dev, st.Ino, st.Size, mtime, ctime)
}
