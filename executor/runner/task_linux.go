package runner

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ferry-ml/ferry/executor/slurm"
	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// envTaskMarker marks the processes of one rank of a slurm run, so that the
// rank's task can sweep them without touching the other ranks on its node.
const envTaskMarker = "FERRY_TASK"

// Task is the entry point of "ferry-executor slurm-task --run-dir D", which
// srun (or mpirun) starts once per process of a slurm run on the compute
// nodes. It supervises its rank of the script as the shim supervises a
// single-node run: its own process group, output appended to the rank's
// log, the child subreaper of everything the script spawns, and every
// process of the rank killed once the script ends or on SIGTERM (scancel).
// It records the rank's exit in D/ranks and exits with the script's status.
func Task(args []string) int {
	fs := flag.NewFlagSet("slurm-task", flag.ContinueOnError)
	runDir := fs.String("run-dir", "", "run directory holding job.json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	logger := hclog.New(&hclog.LoggerOptions{Name: "ferry-task", Output: os.Stderr, JSONFormat: true, Level: hclog.Warn})
	job, err := slurm.ReadJob(*runDir)
	if err != nil {
		logger.Error("read job", "error", err)
		return 1
	}
	rank, err := slurm.RankOf(job.Spec, os.Getenv)
	if err != nil {
		logger.Error("place task", "error", err)
		return 1
	}
	if err := slurm.CheckPlacement(job.Spec, rank); err != nil {
		host, _ := os.Hostname()
		_ = appendLogLine(slurm.RankLog(job.Dir, rank.Rank), err.Error())
		if werr := slurm.WriteRankExit(job.Dir, slurm.RankExit{Rank: rank.Rank, Node: host, Reason: err.Error(), Ended: time.Now().UTC()}); werr != nil {
			logger.Error("record rank exit", "error", werr)
		}
		return 1
	}
	rec := runTask(job, rank, signals, logger.With("run_id", job.RunID, "rank", rank.Rank))
	return rankExitCode(rec)
}

// runTask starts and supervises rank r's script and records its exit.
func runTask(job slurm.Job, r slurm.Rank, signals <-chan os.Signal, log hclog.Logger) slurm.RankExit {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		log.Warn("become child subreaper", "error", err)
	}
	marker := envTaskMarker + "=" + job.RunID + "/" + strconv.Itoa(r.Rank)
	s := &shim{
		cfg: shimConfig{
			RunID: job.RunID, Argv: job.Argv, Dir: job.Work, KillGrace: job.KillGrace,
			Env: taskEnv(job, r, marker), Marker: marker,
		},
		paths: runPaths(job.Dir), log: log, self: os.Getpid(),
		logPath: slurm.RankLog(job.Dir, r.Rank),
	}
	host, _ := os.Hostname()
	out := slurm.RankExit{Rank: r.Rank, Node: host}
	if err := os.MkdirAll(slurm.RankOutputs(job, r.Rank), 0o755); err != nil {
		log.Warn("create outputs directory", "error", err)
	}
	child, err := s.start()
	if err != nil {
		out.Reason = fmt.Sprintf("start script: %v", err)
		_ = appendLogLine(s.logPath, out.Reason)
	} else {
		rec := s.supervise(child, signals)
		out.ExitCode, out.Signal, out.Reason = rec.ExitCode, rec.Signal, rec.Reason
	}
	out.Ended = time.Now().UTC()
	if err := slurm.WriteRankExit(job.Dir, out); err != nil {
		log.Error("record rank exit", "error", err)
	}
	return out
}

// taskEnv is the script's environment on its node: what the launcher gave
// the task, then the run's variables, then the rank's own (Azure ML's
// distributed variables, and ferry's per-rank files), then the marker.
func taskEnv(job slurm.Job, r slurm.Rank, marker string) []string {
	env := os.Environ()
	env = append(env, job.Env...)
	env = append(env, slurm.DistributedEnv(job.Spec, r, slurm.NodeList(os.Getenv("FERRY_NODELIST")))...)
	env = append(env,
		"FERRY_RANK="+strconv.Itoa(r.Rank),
		envOutputsDir+"="+slurm.RankOutputs(job, r.Rank),
		envMetricsFile+"="+slurm.RankMetrics(job.Dir, r.Rank),
		marker,
	)
	return dedupEnv(env)
}

// dedupEnv keeps the last value of every variable, in first-seen order.
func dedupEnv(env []string) []string {
	last := make(map[string]int, len(env))
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		last[k] = i
	}
	out := make([]string, 0, len(last))
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if last[k] == i {
			out = append(out, kv)
		}
	}
	return out
}

// rankExitCode is the task's own exit status: the script's, so that srun
// and mpirun see a failing rank.
func rankExitCode(e slurm.RankExit) int {
	if e.ExitCode == nil {
		return 1
	}
	return *e.ExitCode
}
