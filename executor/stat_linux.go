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
