package runner

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// How long the shim keeps re-sending SIGKILL, and waiting, before it gives up
// on processes that will not die (uninterruptible sleep) and reports anyway.
const (
	killRetryInterval = 100 * time.Millisecond
	killGiveUp        = 5 * time.Second
)

// shim supervises one script. It lives in its own session, so it survives
// the daemon and the SSH session that started it.
type shim struct {
	cfg   shimConfig
	paths runPaths
	log   hclog.Logger
	self  int
	// logPath, when set, replaces the run's log as the script's stdout
	// and stderr (a slurm task writes its rank's log).
	logPath string
}

// Shim is the entry point of "ferry-executor shim ARGS...": args are the
// arguments after "shim" ("--run-dir D [--ready-fd N]"). It starts the run's
// script as described by D/shim.json, supervises it and every process it
// spawns, writes D/exit.json and returns the shim's own exit status (0 once
// exit.json is written, whatever the script did).
//
// The runner starts it with Setsid, stdin on /dev/null, stdout and stderr on
// D/shim.log, and a pipe at --ready-fd that the shim closes once the script
// is started (or failed to start) and signals are handled. SIGTERM or SIGINT
// cancels the run.
func Shim(args []string) int {
	fs := flag.NewFlagSet("shim", flag.ContinueOnError)
	runDir := fs.String("run-dir", "", "run directory holding shim.json")
	readyFD := fs.Int("ready-fd", -1, "file descriptor to close once the script started")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	logger := hclog.New(&hclog.LoggerOptions{
		Name: "ferry-shim", Output: os.Stderr, JSONFormat: true, Level: hclog.Debug,
	})
	ready := readyNotifier(*readyFD)
	defer ready()
	if *runDir == "" {
		logger.Error("missing --run-dir")
		return 2
	}
	s := &shim{paths: runPaths(*runDir), log: logger, self: os.Getpid()}
	var rec exitRecord
	if err := readJSON(s.paths.shimConf(), &s.cfg); err != nil {
		rec.Reason = fmt.Sprintf("shim: read configuration: %v", err)
	} else {
		s.log = logger.With("run_id", s.cfg.RunID)
		rec = s.run(signals, ready)
	}
	if err := writeJSONAtomic(s.paths.exit(), rec); err != nil {
		s.log.Error("write exit status", "error", err)
		return 1
	}
	s.log.Debug("shim done", "exit_code", rec.ExitCode, "canceled", rec.Canceled, "timed_out", rec.TimedOut)
	return 0
}

// readyNotifier returns a function that closes fd once (marking it
// close-on-exec first, so the script never inherits it).
func readyNotifier(fd int) func() {
	if fd < 0 {
		return func() {}
	}
	syscall.CloseOnExec(fd)
	f := os.NewFile(uintptr(fd), "ready")
	return func() {
		if f != nil {
			_, _ = f.Write([]byte("ok\n"))
			_ = f.Close()
			f = nil
		}
	}
}

// run starts the script and supervises it to the end.
func (s *shim) run(signals <-chan os.Signal, ready func()) exitRecord {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		s.log.Warn("become child subreaper", "error", err)
	}
	if id, err := selfIdentity(); err != nil {
		s.log.Warn("record shim pid", "error", err)
	} else if err := writeJSONAtomic(s.paths.shimPID(), id); err != nil {
		s.log.Warn("record shim pid", "error", err)
	}
	if s.cfg.Docker != nil {
		return s.runDocker(signals, ready)
	}
	child, err := s.start()
	ready()
	if err != nil {
		reason := fmt.Sprintf("start script: %v", err)
		s.appendLog(reason)
		return exitRecord{Reason: reason}
	}
	s.log.Debug("script started", "pid", child)
	return s.supervise(child, signals)
}

// start starts the script in its own process group with stdout and stderr
// appended to the run's log file.
func (s *shim) start() (int, error) {
	if len(s.cfg.Argv) == 0 {
		return 0, fmt.Errorf("empty command")
	}
	logPath := s.paths.log()
	if s.logPath != "" {
		logPath = s.logPath
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, fmt.Errorf("open log: %w", err)
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	defer devnull.Close()
	p, err := os.StartProcess(s.cfg.Argv[0], s.cfg.Argv, &os.ProcAttr{
		Dir:   s.cfg.Dir,
		Env:   s.cfg.Env,
		Files: []*os.File{devnull, logf, logf},
		// Pdeathsig: should the shim itself be SIGKILLed, the script dies
		// with it instead of running on unsupervised.
		Sys: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		return 0, err
	}
	pid := p.Pid
	// The shim reaps with wait4(-1); the handle is not needed.
	_ = p.Release()
	return pid, nil
}

// appendLog adds one "ferry: msg" line to the run's log.
func (s *shim) appendLog(msg string) {
	if err := appendLogLine(s.paths.log(), msg); err != nil {
		s.log.Warn("append to run log", "error", err)
	}
}
