package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ferry-ml/ferry/conda"
	"github.com/ferry-ml/ferry/executor/api"
)

// envCondaToolVar names the executor's environment variable that picks the
// conda tool ("micromamba", "mamba", "conda" or a path) when the run spec
// does not; without either the first of conda.Tools on PATH builds.
const envCondaToolVar = "FERRY_CONDA_TOOL"

// envsDirName is the environment cache under the state directory.
const envsDirName = "envs"

// envSetup is what a prepared environment gives the script: its
// interpreter and the variables set on top of the executor's environment
// (before the run spec's own, which win).
type envSetup struct {
	python string
	vars   [][2]string
	image  string // docker image to run in; "" runs on the host
	// prefix and condaKey name a conda environment's prefix and cache key.
	prefix, condaKey string
}

// prepareEnv readies the run's environment by kind.
func (r *Runner) prepareEnv(ctx context.Context, st *runState) (envSetup, error) {
	spec := st.spec.Environment
	switch spec.Kind {
	case envUserManaged, "":
		python, err := resolveInterpreter(spec.Python, st.paths.work())
		return envSetup{python: python}, err
	case api.EnvConda:
		return r.prepareConda(ctx, st)
	case api.EnvPip:
		return r.preparePip(ctx, st)
	case api.EnvDocker:
		return r.prepareDocker(ctx, st)
	}
	return envSetup{}, fmt.Errorf("environment kind %q is not supported", spec.Kind)
}

// condaCache opens the executor's conda environment cache.
func (r *Runner) condaCache() (*conda.Cache, error) {
	return conda.OpenCache(filepath.Join(filepath.Dir(r.runsDir), envsDirName, api.EnvConda), r.log)
}

// prepareConda builds (once per key) or reuses the run's conda prefix; the
// build's progress and output go to the run's log.
func (r *Runner) prepareConda(ctx context.Context, st *runState) (envSetup, error) {
	spec := st.spec.Environment
	if len(spec.CondaSpec) == 0 {
		return envSetup{}, fmt.Errorf("conda environment: the run spec carries no conda spec")
	}
	tool := spec.CondaTool
	if tool == "" {
		tool = os.Getenv(envCondaToolVar)
	}
	project, closeProject, err := condaProject(st)
	if err != nil {
		return envSetup{}, err
	}
	defer closeProject()
	req := conda.Request{Spec: spec.CondaSpec, Requirements: spec.CondaRequirements, Project: project, Tool: tool}
	if _, err := conda.FindTool(tool); errors.Is(err, conda.ErrNoTool) {
		if cs, perr := conda.ParseSent(spec.CondaSpec, spec.CondaRequirements); perr == nil && cs.PipOnly() {
			return r.prepareCondaAsPip(ctx, st, req)
		}
	}
	cache, err := r.condaCache()
	if err != nil {
		return envSetup{}, err
	}
	logf, err := st.paths.appendLog()
	if err != nil {
		return envSetup{}, err
	}
	defer logf.Close()
	req.Output = logf
	env, err := cache.Ensure(ctx, req)
	if err != nil {
		return envSetup{}, err
	}
	// The variables "conda activate" would set, activate.d scripts included.
	vars, err := conda.Activation(ctx, env.Prefix, os.Environ(), env.Spec.Variables)
	if err != nil {
		return envSetup{}, err
	}
	python := filepath.Join(env.Prefix, "bin", "python")
	return envSetup{python: python, prefix: env.Prefix, condaKey: env.Key, vars: vars}, nil
}

// condaVariables returns the spec's variables:, sorted by name, without
// the reserved PATH.
func condaVariables(s *conda.Spec) [][2]string { return conda.SortedVariables(s.Variables) }

// condaProject is where the conda spec's local pip paths are read: the
// run's materialised snapshot (confined to it: no link leads out), with
// the spec's folder in it. Without a folder (a spec from outside the
// source directory) the tree is empty; call the returned func when done.
func condaProject(st *runState) (conda.LocalTree, func(), error) {
	dir := st.spec.Environment.CondaDir
	if dir == "" {
		return conda.LocalTree{}, func() {}, nil
	}
	root, err := os.OpenRoot(st.paths.work())
	if err != nil {
		return conda.LocalTree{}, nil, fmt.Errorf("open working directory: %w", err)
	}
	return conda.LocalTree{Root: root.FS(), Dir: dir}, func() { root.Close() }, nil
}
