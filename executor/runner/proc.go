package runner

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// procStat is what ferry needs from /proc/<pid>/stat.
type procStat struct {
	PPID  int
	State byte   // R, S, D, Z, X, ...
	Start uint64 // clock ticks after boot; with the pid it names one process
}

// procIdentity names one process across pid reuse. The shim writes its own
// to shim.pid.
type procIdentity struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start_time"`
}

// alive reports whether the process p names still runs: same pid, same
// start time, and not a zombie waiting to be reaped.
func (p procIdentity) alive() bool {
	if p.PID <= 0 {
		return false
	}
	st, err := readProcStat(p.PID)
	if err != nil {
		return false
	}
	return st.Start == p.Start && st.State != 'Z' && st.State != 'X'
}

// signal sends sig to p if p is still the same live process.
func (p procIdentity) signal(sig syscall.Signal) error {
	if !p.alive() {
		return os.ErrProcessDone
	}
	if err := syscall.Kill(p.PID, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return fmt.Errorf("signal pid %d: %w", p.PID, err)
	}
	return nil
}
