//go:build !linux

package executor

import "syscall"

// blobStatOf is what the index keeps of a stat result.
func blobStatOf(st *syscall.Stat_t) blobStat {
	return blobStat{size: st.Size, ino: uint64(st.Ino), mtime: st.Mtimespec.Nano()}
}

// syncFS fsyncs each file: there is no syncfs(2) here.
func syncFS(_ string, pend []pendingBlob) error {
	for _, p := range pend {
		if err := syncFile(p.tmp); err != nil {
			return err
		}
	}
	return nil
}
