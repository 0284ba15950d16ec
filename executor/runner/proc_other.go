//go:build !linux

package runner

import (
	"errors"
	"os"
)

// errUnsupported: run supervision needs Linux (/proc, subreapers).
var errUnsupported = errors.New("run supervision is only supported on linux")

// Shim is the entry point of "ferry-executor shim ARGS...". It needs Linux.
func Shim(args []string) int {
	os.Stderr.WriteString("ferry-executor shim: " + errUnsupported.Error() + "\n")
	return 1
}

func readProcStat(pid int) (procStat, error) { return procStat{}, errUnsupported }

func killRunProcesses(runID string) int { return 0 }
