package slurm

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/fsutil"
)

// Files of a slurm run inside its run directory.
const (
	JobFile    = "job.json"     // the Job, written by the runner
	ScriptFile = "job.sbatch"   // the batch script, written by the driver
	StateFile  = "slurm.json"   // api.SlurmJob, written by the driver
	BatchExit  = "batch.exit"   // the launcher's exit status, written by the batch script
	RanksDir   = "ranks"        // per-rank logs, metrics, outputs and exit records
	DriverLog  = "driver.log"   // the driver's own diagnostics (hclog JSON)
	outputFile = "slurm-%j.out" // the batch step's own stdout and stderr
)

// Job is everything the driver and the tasks of one slurm run need.
type Job struct {
	RunID string        `json:"run_id"`
	Dir   string        `json:"dir"`  // the run directory, absolute, on the shared root
	Work  string        `json:"work"` // the working directory of every task
	Spec  api.SlurmSpec `json:"spec"`
	// Argv is the script's command line; argv[0] is absolute.
	Argv []string `json:"argv"`
	// Env holds the variables every task adds to the environment srun or
	// mpirun gives it ("K=V").
	Env []string `json:"env"`
	// Executable is ferry-executor, on the shared root.
	Executable  string        `json:"executable"`
	MaxDuration time.Duration `json:"max_duration,omitempty"`
	// KillGrace is a task's time between SIGTERM and SIGKILL of its
	// script; keep it below the cluster's KillWait.
	KillGrace time.Duration `json:"kill_grace"`
	// LibDir holds ferry_run.py; it goes first on PYTHONPATH.
	LibDir string `json:"lib_dir,omitempty"`
}

// ReadJob reads dir/job.json.
func ReadJob(dir string) (Job, error) {
	var j Job
	data, err := os.ReadFile(filepath.Join(dir, JobFile))
	if err != nil {
		return j, fmt.Errorf("read slurm job: %w", err)
	}
	if err := json.Unmarshal(data, &j); err != nil {
		return j, fmt.Errorf("parse slurm job: %w", err)
	}
	return j, nil
}

// Write writes j to j.Dir/job.json (temp file + rename).
func (j Job) Write() error {
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("encode slurm job: %w", err)
	}
	return fsutil.WriteFileAtomic(filepath.Join(j.Dir, JobFile), data, 0o600)
}

// RankLog is the log file of rank n: rank 0 writes the run's own log, so
// that everything that follows a single-node run follows rank 0.
func RankLog(dir string, n int) string {
	if n == 0 {
		return filepath.Join(dir, "log")
	}
	return filepath.Join(dir, RanksDir, strconv.Itoa(n)+".log")
}

// RankMetrics is the metrics file of rank n (rank 0: the run's own).
func RankMetrics(dir string, n int) string {
	if n == 0 {
		return filepath.Join(dir, "metrics.jsonl")
	}
	return filepath.Join(dir, RanksDir, strconv.Itoa(n)+".metrics.jsonl")
}

// RankOutputs is the outputs directory of rank n: rank 0's is the run's
// own work/outputs, which comes back to the laptop.
func RankOutputs(j Job, n int) string {
	if n == 0 {
		return filepath.Join(j.Work, "outputs")
	}
	return filepath.Join(j.Dir, RanksDir, strconv.Itoa(n), "outputs")
}

// RankExitPath is the exit record of rank n, written by its task.
func RankExitPath(dir string, n int) string {
	return filepath.Join(dir, RanksDir, strconv.Itoa(n)+".exit.json")
}

// ReadState reads dir/slurm.json; ok is false when it does not exist yet.
func ReadState(dir string) (api.SlurmJob, bool) {
	var s api.SlurmJob
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil || json.Unmarshal(data, &s) != nil {
		return s, false
	}
	return s, true
}

// writeState records s in dir/slurm.json (temp file + rename).
func writeState(dir string, s api.SlurmJob) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode slurm state: %w", err)
	}
	return fsutil.WriteFileAtomic(filepath.Join(dir, StateFile), data, 0o600)
}
