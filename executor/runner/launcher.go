package runner

import (
	"context"

	"github.com/ferry-ml/ferry/executor/api"
)

// launcher decides what the shim starts for a prepared run: how a run is
// launched and tracked. The shim always supervises one local process, which
// keeps cancel, time limits, logs, reattach and daemon restarts the same for
// every kind of run. On this host that process is the script under its
// interpreter (or a container); on a cluster it is a tracker that submits
// the job, follows it, exits with the job's outcome and turns the shim's
// SIGTERM into the cluster's own kill (sparkLauncher: spark-submit to YARN).
// Implementations fill Argv, Env and Dir (or Docker); the runner sets the
// rest of the shimConfig.
type launcher interface {
	launch(ctx context.Context, st *runState, env envSetup) (shimConfig, error)
}

// launcherFor picks the launcher of spec.
func (r *Runner) launcherFor(spec api.RunSpec) launcher {
	if spec.Spark != nil {
		return sparkLauncher{r}
	}
	if spec.Slurm != nil {
		return slurmLauncher{r}
	}
	return hostLauncher{r}
}

// hostLauncher runs the script on this host, or in the prepared docker
// image.
type hostLauncher struct{ r *Runner }

func (h hostLauncher) launch(_ context.Context, st *runState, env envSetup) (shimConfig, error) {
	if env.image != "" {
		return shimConfig{Dir: st.paths.work(), Docker: h.r.dockerLaunch(st, env)}, nil
	}
	spec := st.spec
	return shimConfig{
		Argv: append([]string{env.python, spec.Script}, spec.Args...),
		Env:  h.r.runEnv(st, env.vars),
		Dir:  st.paths.work(),
	}, nil
}
