package executor

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// blobStatOf is what the index keeps of a stat result.
func blobStatOf(st *syscall.Stat_t) blobStat {
	return blobStat{size: st.Size, ino: st.Ino, mtime: st.Mtim.Nano()}
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
