package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ferry-ml/ferry/conda"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/pipenv"
)

// pipCache opens the executor's cache of pip venvs (envs/pip), kept by the
// same code as the conda prefixes: lock, completion marker, last use.
func (r *Runner) pipCache() (*conda.Cache, error) {
	return conda.OpenCache(filepath.Join(filepath.Dir(r.runsDir), envsDirName, api.EnvPip), r.log)
}

// preparePip builds (once per key) or reuses the run's venv: the key is
// the requirements as the run's snapshot has them (nested files and local
// packages included) and the interpreter's version. The build's output
// goes to the run's log.
func (r *Runner) preparePip(ctx context.Context, st *runState) (envSetup, error) {
	spec := st.spec.Environment
	python, err := resolveInterpreter(spec.Python, st.paths.work())
	if err != nil {
		return envSetup{}, err
	}
	req, err := pipenv.Parse(st.paths.work(), spec.Requirements)
	if err != nil {
		return envSetup{}, err
	}
	version, err := pipenv.PythonVersion(ctx, python)
	if err != nil {
		return envSetup{}, err
	}
	cache, err := r.pipCache()
	if err != nil {
		return envSetup{}, err
	}
	logf, err := st.paths.appendLog()
	if err != nil {
		return envSetup{}, err
	}
	defer logf.Close()
	key := req.Key(version)
	_, err = cache.EnsureWith(ctx, key, api.EnvPip, logf, func(ctx context.Context, prefix string) (string, error) {
		return "pip", buildPip(ctx, python, prefix, cache.SourcePath(key), st.paths.work(), req, logf)
	})
	if err != nil {
		return envSetup{}, err
	}
	prefix := cache.Prefix(key)
	bin := filepath.Join(prefix, "bin")
	return envSetup{python: filepath.Join(bin, "python"), vars: [][2]string{
		{"PATH", bin + string(os.PathListSeparator) + os.Getenv("PATH")},
		{"VIRTUAL_ENV", prefix},
	}}, nil
}

// buildPip builds the venv at prefix from the requirements in the run's
// working directory work. An editable install ("-e .") would leave the
// cached venv referring to that directory, which belongs to one run: such
// requirements are built from a copy of what they name at src instead
// (cache.SourcePath, kept and removed with the venv; their content is in
// the key).
func buildPip(ctx context.Context, python, prefix, src, work string, req *pipenv.Requirements, out io.Writer) error {
	if len(req.Editable) == 0 {
		return pipenv.Build(ctx, python, prefix, work, req.File, out)
	}
	if err := req.Mirror(work, src); err != nil {
		return fmt.Errorf("copy the requirements' local files: %w", err)
	}
	return pipenv.Build(ctx, python, prefix, src, req.File, out)
}
