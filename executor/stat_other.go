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

// lstatBlob returns what the index keeps of the file at path and whether
// it is a regular file of mode 0444, as a trusted blob is.
func lstatBlob(path string) (blobStat, bool) {
	var st syscall.Stat_t
	for {
		err := syscall.Lstat(path, &st)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return blobStat{}, false
		}
		return blobStat{size: st.Size, ino: uint64(st.Ino), mtime: st.Mtimespec.Nano()}, st.Mode == syscall.S_IFREG|0o444
	}
}
