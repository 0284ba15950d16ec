package fsutil

import "syscall"

// statTimes returns st's mtime and ctime in nanoseconds.
func statTimes(st *syscall.Stat_t) (mtime, ctime int64) {
	return st.Mtim.Nano(), st.Ctim.Nano()
}
