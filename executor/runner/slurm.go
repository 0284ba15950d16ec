package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/slurm"
)

// taskKillGrace is a slurm task's time between SIGTERM and SIGKILL of its
// script: below Slurm's own KillWait (30 s by default), so that the task
// sweeps its rank before slurmstepd kills the task itself.
const taskKillGrace = 3 * time.Second

// clusterDriverGrace is the shim's grace for a cluster run's driver (the
// Slurm driver, the Spark tracker): on SIGTERM it asks the cluster to stop
// the job (scancel, yarn application -kill), again while that fails, and
// waits for the job to end. Killing it sooner could leave the job running
// on the cluster while ferry records the run as canceled.
const clusterDriverGrace = time.Minute

// validateSlurmSpec checks a slurm spec's shape (Azure ML's rules).
func validateSlurmSpec(spec api.RunSpec) error {
	s := spec.Slurm
	switch {
	case s.Nodes < 1 || s.ProcessesPerNode < 1:
		return fmt.Errorf("%w: node count and processes per node must be at least 1", ErrInvalidSpec)
	case spec.Environment.Kind == api.EnvDocker:
		return fmt.Errorf("%w: docker environments need a container runtime on every node of the cluster, which ferry does not drive through Slurm; use a conda or user-managed environment", ErrInvalidSpec)
	case s.Tasks > 0 && (s.Tasks > s.Nodes*s.ProcessesPerNode || s.Tasks <= (s.Nodes-1)*s.ProcessesPerNode):
		return fmt.Errorf("%w: %d tasks do not fill %d nodes in blocks of %d, the last node with at least one", ErrInvalidSpec, s.Tasks, s.Nodes, s.ProcessesPerNode)
	case s.Processes() > 1 && s.Distributed == "":
		return fmt.Errorf("%w: %d processes need a distributed mode (pytorch, mpi or tensorflow)", ErrInvalidSpec, s.Processes())
	}
	switch s.Distributed {
	case "", api.DistributedPyTorch, api.DistributedMPI, api.DistributedTensorFlow:
		return nil
	}
	return fmt.Errorf("%w: unknown distributed mode %q (pytorch, mpi or tensorflow)", ErrInvalidSpec, s.Distributed)
}

// checkSlurm asks Slurm, before anything is recorded, whether it would take
// the job; its refusal is returned word for word.
func (r *Runner) checkSlurm(ctx context.Context, spec api.RunSpec) error {
	job := slurm.Job{RunID: spec.ID, Dir: r.runsDir, Work: r.runsDir, Spec: *spec.Slurm, MaxDuration: spec.MaxDuration}
	if err := slurm.Validate(ctx, r.slurmCommand(), job); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	return nil
}

func (r *Runner) slurmCommand() slurm.CommandFunc {
	if r.cfg.SlurmCommand != nil {
		return r.cfg.SlurmCommand
	}
	return slurm.Exec
}

// slurmLauncher runs the script as one Slurm batch job: the shim starts the
// driver ("ferry-executor slurm-job", package slurm), which submits the job
// and follows it; SIGTERM from the shim becomes scancel.
type slurmLauncher struct{ r *Runner }

// launch writes job.json and the ranks' empty logs.
func (l slurmLauncher) launch(_ context.Context, st *runState, env envSetup) (shimConfig, error) {
	r, spec, conf := l.r, st.spec, shimConfig{Dir: st.paths.work()}
	if env.image != "" {
		return conf, errors.New("docker environments cannot run on a Slurm cluster through ferry: use a conda or user-managed environment")
	}
	job := slurm.Job{
		RunID: spec.ID, Dir: absPath(st.paths.dir()), Work: absPath(st.paths.work()),
		Spec: *spec.Slurm, Argv: append([]string{env.python, spec.Script}, spec.Args...),
		Env: r.slurmTaskEnv(st, env.vars), Executable: r.cfg.ShimPath,
		MaxDuration: spec.MaxDuration, KillGrace: taskKillGrace, LibDir: r.libDir,
	}
	if err := os.MkdirAll(filepath.Join(job.Dir, slurm.RanksDir), 0o700); err != nil {
		return conf, fmt.Errorf("create ranks directory: %w", err)
	}
	for n := 1; n < spec.Slurm.Processes(); n++ {
		f, err := os.OpenFile(slurm.RankLog(job.Dir, n), os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return conf, fmt.Errorf("create rank log: %w", err)
		}
		f.Close()
	}
	if err := job.Write(); err != nil {
		return conf, err
	}
	conf.Argv = []string{r.cfg.ShimPath, "slurm-job", "--run-dir", job.Dir}
	conf.KillGrace = clusterDriverGrace
	conf.Env = r.runEnv(st, env.vars)
	return conf, nil
}

// slurmTaskEnv is what every task adds to the environment its launcher
// gives it: the prepared environment's variables, the spec's, and ferry's.
func (r *Runner) slurmTaskEnv(st *runState, envVars [][2]string) []string {
	var env []string
	for _, kv := range envVars {
		env = append(env, kv[0]+"="+kv[1])
	}
	for k, v := range st.spec.Env {
		env = append(env, k+"="+v)
	}
	pythonPath := r.libDir
	if prev := os.Getenv("PYTHONPATH"); prev != "" {
		pythonPath += string(os.PathListSeparator) + prev
	}
	return append(env, "PYTHONPATH="+pythonPath, "PYTHONUNBUFFERED=1",
		envRunID+"="+st.spec.ID, envExperiment+"="+st.spec.Experiment)
}

// slurmView shows a running slurm run as Slurm sees it: Queued, with
// Slurm's reason, until its job runs. Callers hold Runner.mu.
func (st *runState) slurmView(rec *api.Run) {
	if st.spec.Slurm == nil {
		return
	}
	job, ok := slurm.ReadState(st.paths.dir())
	if !ok {
		return
	}
	rec.Slurm = &job
	if rec.Status != api.StatusRunning {
		return
	}
	switch job.State {
	case "SUBMITTING", "PENDING", "CONFIGURING", "REQUEUED":
		rec.Status, rec.Reason = api.StatusQueued, job.Reason
	}
}

// slurmReason amends the reason a slurm run ended with: Slurm's or the
// failing rank's.
func slurmReason(st *runState, status api.Status, reason string) string {
	if job, ok := slurm.ReadState(st.paths.dir()); ok && status == api.StatusFailed && job.Reason != "" {
		return job.Reason
	}
	return reason
}

// rankLogPath is rank n's log under the run directory d.
func rankLogPath(d runPaths, n int) string {
	return slurm.RankLog(filepath.Clean(d.dir()), n)
}
