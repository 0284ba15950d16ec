package runner

import (
	"fmt"
	"os"
	"path/filepath"
)

// File names inside a run directory. See the package documentation.
const (
	runFile      = "run.json"
	logFile      = "log"
	workDir      = "work"
	outputsDir   = "outputs" // under workDir
	metricsFile  = "metrics.jsonl"
	keptFile     = "metrics.kept.jsonl"
	shimFile     = "shim.json"
	shimPIDFile  = "shim.pid"
	shimLogFile  = "shim.log"
	exitFile     = "exit.json"
	runsDirName  = "runs"
	pythonLibDir = "lib/python"
)

// runPaths names the files of one run directory.
type runPaths string

func (d runPaths) dir() string      { return string(d) }
func (d runPaths) run() string      { return filepath.Join(string(d), runFile) }
func (d runPaths) log() string      { return filepath.Join(string(d), logFile) }
func (d runPaths) work() string     { return filepath.Join(string(d), workDir) }
func (d runPaths) outputs() string  { return filepath.Join(string(d), workDir, outputsDir) }
func (d runPaths) metrics() string  { return filepath.Join(string(d), metricsFile) }
func (d runPaths) kept() string     { return filepath.Join(string(d), keptFile) }
func (d runPaths) shimConf() string { return filepath.Join(string(d), shimFile) }
func (d runPaths) shimPID() string  { return filepath.Join(string(d), shimPIDFile) }
func (d runPaths) shimLog() string  { return filepath.Join(string(d), shimLogFile) }
func (d runPaths) exit() string     { return filepath.Join(string(d), exitFile) }

// appendLog opens the run's log for appending, for a step (an environment
// build) that writes its output there; the log must exist already.
func (d runPaths) appendLog() (*os.File, error) {
	f, err := os.OpenFile(d.log(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("open run log: %w", err)
	}
	return f, nil
}
