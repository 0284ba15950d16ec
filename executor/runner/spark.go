package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/sparkrun"
	"github.com/ferry-ml/ferry/spark"
)

// Files of a Spark run, besides those the spark package names.
const (
	sparkDirName  = "spark"      // the submit directory, spark-submit's cwd
	sparkPlanFile = "track.json" // the tracker's plan, in the submit directory
)

// SparkTrackCommand is the ferry-executor command the shim starts for a
// Spark run; it must call sparkrun.Track with the arguments after it.
const SparkTrackCommand = "spark-track"

// errNoSparkSubmit: a PySpark run on a host without spark-submit.
var errNoSparkSubmit = errors.New("spark-submit not found on the target's PATH: PySpark runs need a Spark cluster's head node (attach it with --type hdinsight)")

// sparkLauncher makes a run one spark-submit to YARN, followed by the
// tracker (package sparkrun).
type sparkLauncher struct{ r *Runner }

func (l sparkLauncher) launch(ctx context.Context, st *runState, env envSetup) (shimConfig, error) {
	if env.image != "" {
		return shimConfig{}, errors.New("docker environments cannot run on a Spark cluster: use a conda or user-managed environment")
	}
	if _, err := exec.LookPath("spark-submit"); err != nil {
		return shimConfig{}, errNoSparkSubmit
	}
	job, err := l.job(st)
	if err != nil {
		return shimConfig{}, err
	}
	dir := filepath.Join(st.paths.dir(), sparkDirName)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return shimConfig{}, fmt.Errorf("create submit directory: %w", err)
	}
	if err := l.stage(ctx, st, dir, job, env); err != nil {
		return shimConfig{}, err
	}
	plan := sparkrun.Plan{
		RunID: job.RunID, Mode: job.Mode(), Argv: job.Argv(), Dir: dir,
		OutputsDFS: job.OutputsDir, Outputs: absPath(st.paths.outputs()), Metrics: absPath(st.paths.metrics()),
	}
	planPath := filepath.Join(dir, sparkPlanFile)
	if err := sparkrun.WritePlan(planPath, plan); err != nil {
		return shimConfig{}, err
	}
	return shimConfig{
		Argv: []string{l.r.cfg.ShimPath, SparkTrackCommand, "--plan", planPath},
		Env:  sparkEnv(l.r.runEnv(st, env.vars)),
		Dir:  dir,
		// The tracker kills the YARN application on SIGTERM.
		KillGrace: clusterDriverGrace,
	}, nil
}

// job is the run's spark.Job, as the agent showed it (--dry-run).
func (l sparkLauncher) job(st *runState) (spark.Job, error) {
	spec := st.spec
	u, err := user.Current()
	if err != nil {
		return spark.Job{}, fmt.Errorf("find the submitting user: %w", err)
	}
	job := spark.Job{
		RunID: spec.ID, Experiment: spec.Experiment, Script: spec.Script, Args: spec.Args,
		DeployMode: spec.Spark.DeployMode, Conf: spec.Spark.Conf, Packages: spec.Spark.Packages,
		Repositories: spec.Spark.Repositories, Env: spec.Env,
		Conda: spec.Environment.Kind == api.EnvConda, OutputsDir: spark.OutputsPath(u.Username, spec.ID),
	}
	if !job.Conda {
		job.Python = pythonOrDefault(spec.Environment.Python)
	}
	if err := job.Validate(); err != nil {
		return spark.Job{}, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	return job, nil
}

// pythonOrDefault is the user-managed interpreter, python3 when unset.
func pythonOrDefault(p string) string {
	if p == "" {
		return "python3"
	}
	return p
}

// stage writes what the command names into the submit directory: the
// entry point, the snapshot archive, the helper and, for a conda run, the
// packed environment (packed once per key) and the prefix.
func (l sparkLauncher) stage(ctx context.Context, st *runState, dir string, job spark.Job, env envSetup) error {
	entry := filepath.Join(dir, job.Primary())
	if err := writeFileAtomic(entry, job.EntryPoint(absPath(st.paths.work())), 0o600); err != nil {
		return fmt.Errorf("write entry point: %w", err)
	}
	if err := sparkrun.ArchiveDir(ctx, st.paths.work(), filepath.Join(dir, spark.SnapshotArchive)); err != nil {
		return err
	}
	links := map[string]string{spark.HelperFile: filepath.Join(l.r.libDir, helperName)}
	if job.Conda {
		pack, err := l.pack(ctx, st, env)
		if err != nil {
			return err
		}
		links[spark.EnvArchive], links[spark.EnvLink] = pack, env.prefix
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("link %s: %w", name, err)
		}
	}
	return nil
}

// pack returns the packed conda environment, packing it on first use.
func (l sparkLauncher) pack(ctx context.Context, st *runState, env envSetup) (string, error) {
	cache, err := l.r.condaCache()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(cache.PackPath(env.condaKey)); err != nil {
		_ = appendLogLine(st.paths.log(), "packing conda environment "+shortKey(env.condaKey)+" for YARN")
	}
	return cache.Pack(ctx, env.condaKey, func() {
		_ = appendLogLine(st.paths.log(), "waiting for another run packing the same environment")
	})
}

// sparkEnv is spark-submit's environment: the run's, less the variables
// that would choose the interpreter behind ferry's back (Spark copies
// PYSPARK_PYTHON and PYSPARK_DRIVER_PYTHON into a cluster-mode driver).
func sparkEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PYSPARK_PYTHON=") && !strings.HasPrefix(kv, "PYSPARK_DRIVER_PYTHON=") {
			out = append(out, kv)
		}
	}
	return out
}

func shortKey(key string) string {
	if len(key) > 12 {
		return key[:12]
	}
	return key
}
