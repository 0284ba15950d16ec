package executor

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

func statOf(fi fs.FileInfo) blobStat {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return blobStat{size: fi.Size()}
	}
	return blobStat{size: fi.Size(), ino: st.Ino, mtime: st.Mtim.Nano()}
}

// syncFS flushes the whole file system holding dir with one syncfs(2),
// which costs about one fsync however many files were written.
func syncFS(dir string, _ []pendingBlob) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open for syncfs: %w", err)
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("syncfs: %w", err)
	}
	return nil
}

// lstatBlob returns what the index keeps of the file at path and whether
// it is a regular file of mode 0444, as a trusted blob is, without the
// FileInfo os.Lstat allocates (a plan checks every blob of a snapshot).
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
		return blobStat{size: st.Size, ino: st.Ino, mtime: st.Mtim.Nano()}, st.Mode == syscall.S_IFREG|0o444
	}
}
