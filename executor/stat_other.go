//go:build !linux

package executor

import (
	"io/fs"
	"syscall"
)

func statOf(fi fs.FileInfo) blobStat {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return blobStat{size: fi.Size()}
	}
	return blobStat{size: fi.Size(), ino: uint64(st.Ino), mtime: st.Mtimespec.Nano()}
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
