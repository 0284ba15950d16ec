//go:build unix

package conda

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts cmd in a process group of its own and makes a
// canceled context kill the whole group (the tool's pip and solver
// children too).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
