package testutil

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TinyFS mounts a tmpfs of size bytes on a fresh temp folder and returns
// it, so a test can fill a disk without filling the machine's. It needs
// root (CI runs as root); elsewhere the test is skipped, or fails under
// FERRY_TEST_DISALLOW_SKIP. The mount is removed when the test ends.
func TinyFS(t testing.TB, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, "mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		SkipOrFail(t, "mount tmpfs: "+err.Error())
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}
