//go:build !linux

package runner

import (
	"os"
)

// Task is "ferry-executor slurm-task": Linux only, like the shim.
func Task(args []string) int {
	os.Stderr.WriteString("ferry-executor slurm-task: supported on Linux only\n")
	return 1
}
