package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
)

// Environment kinds the runner knows.
const envUserManaged = "user-managed"

// readyTimeout bounds the wait for a freshly started shim to report that the
// script is started.
const readyTimeout = 30 * time.Second

// prepare takes a Queued run to Running (or to Failed or Canceled): it
// materialises the snapshot, resolves the interpreter, checks the script
// and starts the shim.
func (r *Runner) prepare(ctx context.Context, st *runState) {
	defer r.wg.Done()
	log := r.log.With("run_id", st.spec.ID)
	err := r.update(st, func(rec *api.Run) { rec.Status = api.StatusPreparing })
	var conf shimConfig
	if err == nil {
		conf, err = r.prepareRun(ctx, st)
	}
	if err == nil {
		err = r.launch(st, conf)
	}
	r.mu.Lock()
	st.cancelPrep = nil
	canceled, closed := st.cancelRequested, r.closed
	r.mu.Unlock()
	switch {
	case err == nil:
		return
	case closed:
		// The daemon is stopping: the next Recover decides.
		log.Debug("preparation interrupted by shutdown", "error", err)
	case canceled:
		r.end(st, api.StatusCanceled, nil, "canceled")
	default:
		log.Debug("preparation failed", "error", err)
		r.fail(st, err.Error())
	}
}

// prepareRun materialises the run's files and builds the shim's
// configuration.
func (r *Runner) prepareRun(ctx context.Context, st *runState) (shimConfig, error) {
	spec := st.spec
	if err := os.Mkdir(st.paths.work(), 0o700); err != nil {
		return shimConfig{}, fmt.Errorf("create working directory: %w", err)
	}
	if err := r.cfg.Materializer.Materialize(ctx, spec.Snapshot, st.paths.work()); err != nil {
		return shimConfig{}, fmt.Errorf("materialize snapshot %s: %w", spec.Snapshot, err)
	}
	if err := ctx.Err(); err != nil {
		return shimConfig{}, err
	}
	if err := os.MkdirAll(st.paths.outputs(), 0o755); err != nil {
		return shimConfig{}, fmt.Errorf("create outputs directory: %w", err)
	}
	if err := checkScript(st.paths.work(), spec.Script); err != nil {
		return shimConfig{}, err
	}
	env, err := r.prepareEnv(ctx, st)
	if err != nil {
		return shimConfig{}, err
	}
	if err := ctx.Err(); err != nil {
		return shimConfig{}, err
	}
	conf, err := r.launcherFor(spec).launch(ctx, st, env)
	if err != nil {
		return shimConfig{}, err
	}
	conf.RunID, conf.MaxDuration, conf.KillGrace = spec.ID, spec.MaxDuration, max(conf.KillGrace, r.cfg.KillGrace)
	return conf, nil
}

// resolveInterpreter finds the user-managed interpreter: a bare name is
// looked up on PATH, a relative path is taken from the working directory.
func resolveInterpreter(python, work string) (string, error) {
	if python == "" {
		python = "python3"
	}
	candidate := python
	if strings.Contains(python, "/") && !filepath.IsAbs(python) {
		candidate = filepath.Join(work, python)
	}
	path, err := exec.LookPath(candidate)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) && !strings.Contains(python, "/") {
			return "", fmt.Errorf("python interpreter %q not found on PATH", python)
		}
		return "", fmt.Errorf("python interpreter %q is missing or not executable", python)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("resolve python interpreter %q: %w", python, err)
	}
	return abs, nil
}

// checkScript makes sure script names a regular file inside work, following
// no symlink out of it.
func checkScript(work, script string) error {
	if !filepath.IsLocal(filepath.FromSlash(script)) {
		return fmt.Errorf("script %q is outside the snapshot", script)
	}
	root, err := os.OpenRoot(work)
	if err != nil {
		return fmt.Errorf("open working directory: %w", err)
	}
	defer root.Close()
	fi, err := root.Stat(filepath.FromSlash(script))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("script %q not found in the snapshot", script)
	case err != nil:
		return fmt.Errorf("script %q: %w", script, err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("script %q is not a regular file", script)
	}
	return nil
}

// runEnv is the script's environment: the executor's, then the prepared
// environment's (envVars), then the spec's, then ferry's own variables,
// which the spec cannot override.
func (r *Runner) runEnv(st *runState, envVars [][2]string) []string {
	spec := st.spec
	vars := make(map[string]string)
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			set(k, v)
		}
	}
	for _, kv := range envVars {
		set(kv[0], kv[1])
	}
	for k, v := range spec.Env {
		set(k, v)
	}
	pythonPath := r.libDir
	if prev := vars["PYTHONPATH"]; prev != "" {
		pythonPath += string(os.PathListSeparator) + prev
	}
	set("PYTHONPATH", pythonPath)
	set("PYTHONUNBUFFERED", "1")
	set(envRunID, spec.ID)
	set(envExperiment, spec.Experiment)
	set(envOutputsDir, absPath(st.paths.outputs()))
	set(envMetricsFile, absPath(st.paths.metrics()))
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, k+"="+vars[k])
	}
	return env
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// fail ends st as Failed with reason, which also goes to the run's log.
func (r *Runner) fail(st *runState, reason string) {
	// Only the first line goes to the log: the lines after it are a
	// tool's output tail (a failed environment build), already there.
	line, _, _ := strings.Cut(reason, "\n")
	if err := appendLogLine(st.paths.log(), line); err != nil {
		r.log.Warn("append to run log", "run_id", st.spec.ID, "error", err)
	}
	r.end(st, api.StatusFailed, nil, reason)
}

// end records the terminal status of st.
func (r *Runner) end(st *runState, status api.Status, code *int, reason string) {
	now := time.Now().UTC()
	err := r.update(st, func(rec *api.Run) {
		rec.Status, rec.ExitCode, rec.Reason, rec.EndedAt = status, code, reason, &now
		if fi, err := os.Stat(st.paths.log()); err == nil {
			rec.LogSize = fi.Size()
		}
	})
	if err != nil && !errors.Is(err, ErrClosed) {
		r.log.Error("record run end", "run_id", st.spec.ID, "status", status, "error", err)
	}
}
