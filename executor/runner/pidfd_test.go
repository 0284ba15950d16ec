//go:build linux

package runner

import (
	"testing"

	"golang.org/x/sys/unix"
)

func pidfdOpen(pid int) (int, error) { return unix.PidfdOpen(pid, 0) }

// waitPidfd blocks until the process behind pidfd has exited.
func waitPidfd(t *testing.T, fd int) {
	t.Helper()
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, 30_000)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if fds[0].Revents == 0 {
			t.Fatal("process did not exit within 30s")
		}
		return
	}
}
