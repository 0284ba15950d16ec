package slurm

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/hashicorp/go-hclog"
)

// Main is the entry point of "ferry-executor slurm-job --run-dir D": the
// driver of one slurm run, started by the run's shim on the login node with
// stdout and stderr on the run's log. SIGTERM or SIGINT (ferry cancel, the
// time limit) cancels the job. It returns the driver's exit status (Drive).
func Main(args []string) int {
	fs := flag.NewFlagSet("slurm-job", flag.ContinueOnError)
	runDir := fs.String("run-dir", "", "run directory holding job.json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *runDir == "" {
		os.Stderr.WriteString("ferry: " + errNoRunDir.Error() + "\n")
		return 2
	}
	cancel := make(chan os.Signal, 2)
	signal.Notify(cancel, syscall.SIGTERM, syscall.SIGINT)
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	logger := driverLogger(*runDir)
	job, err := ReadJob(*runDir)
	if err != nil {
		logger.Error("read job", "error", err)
		os.Stderr.WriteString("ferry: " + err.Error() + "\n")
		return exitFailed
	}
	d := &Driver{Job: job, Log: logger.With("run_id", job.RunID), Out: os.Stderr}
	return d.Drive(context.Background(), cancel)
}

// driverLogger logs JSON to D/driver.log, or nowhere when it cannot be
// opened (the run's log is the user's, not ours).
func driverLogger(dir string) hclog.Logger {
	f, err := os.OpenFile(filepath.Join(dir, DriverLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return hclog.NewNullLogger()
	}
	return hclog.New(&hclog.LoggerOptions{Name: "ferry-slurm", Output: f, JSONFormat: true, Level: hclog.Debug})
}
