package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferry-ml/ferry/conda"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/pipenv"
)

// condaPipKeyVersion prefixes the hashed text of a pip environment that
// stands in for a pip-only conda spec.
const condaPipKeyVersion = "conda-pip-v1\n"

// condaPipFile is the requirements file the stand-in build writes beside
// the spec, as conda writes its condaenv.*.requirements.txt there.
const condaPipFile = "condaenv.ferry.requirements.txt"

// prepareCondaAsPip readies a conda spec that asks conda only for python
// and pip (conda.Spec.PipOnly: Azure ML v1's pip-only form, and its
// default environment) on a target with no conda tool: a pip virtual
// environment of python<X.Y> from the pin (python3 without one, or when
// the target lacks it) with the spec's pip section installed from the
// spec's folder, as conda would. It lives in the pip cache (kind pip),
// keyed by the normalised spec and the interpreter's version.
func (r *Runner) prepareCondaAsPip(ctx context.Context, st *runState, req conda.Request) (envSetup, error) {
	cs, err := conda.PrepareProject(req)
	if err != nil {
		return envSetup{}, err
	}
	python, err := pipOnlyPython(cs, st.paths.work())
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
	short, _, _ := strings.Cut(version, " ")
	fmt.Fprintf(logf, "ferry: no conda tool on this target, and the conda spec asks conda only for python and pip (Azure ML's pip-only form): "+
		"using a pip environment of %s (Python %s) instead\n", python, short)
	if minor := cs.PythonMinor(); minor != "" && !strings.HasPrefix(short, minor+".") {
		fmt.Fprintf(logf, "ferry: warning: the spec pins python %s, which this target lacks (no python%s on PATH): install it, or a conda tool\n", cs.Python, minor)
	}
	key := condaPipKey(cs, version)
	_, err = cache.EnsureWith(ctx, key, api.EnvPip, logf, func(ctx context.Context, prefix string) (string, error) {
		return "pip", buildCondaAsPip(ctx, python, prefix, cache.SourcePath(key), req, cs, logf)
	})
	if err != nil {
		return envSetup{}, err
	}
	prefix := cache.Prefix(key)
	bin := filepath.Join(prefix, "bin")
	vars := [][2]string{{"PATH", bin + string(os.PathListSeparator) + os.Getenv("PATH")}, {"VIRTUAL_ENV", prefix}}
	return envSetup{python: filepath.Join(bin, "python"), vars: append(vars, condaVariables(cs)...)}, nil
}

// pipOnlyPython picks the interpreter: python<X.Y> of the spec's pin when
// the target has it, else python3.
func pipOnlyPython(cs *conda.Spec, work string) (string, error) {
	if minor := cs.PythonMinor(); minor != "" {
		if p, err := resolveInterpreter("python"+minor, work); err == nil {
			return p, nil
		}
	}
	return resolveInterpreter("python3", work)
}

// condaPipKey is the stand-in environment's key: the normalised spec
// (local pip paths' content included) and the interpreter's version.
func condaPipKey(cs *conda.Spec, version string) string {
	h := sha256.New()
	h.Write([]byte(condaPipKeyVersion))
	h.Write(cs.Normalized())
	fmt.Fprintf(h, "python %s\n", strings.TrimSpace(version))
	return hex.EncodeToString(h.Sum(nil))
}

// buildCondaAsPip lays out dir as conda's build folder (the spec's folder
// with its -r files and local paths), writes the pip section there as a
// requirements file and builds the venv from it with pip run in that
// folder. dir stays for an editable install ("-e ."), which refers to it.
func buildCondaAsPip(ctx context.Context, python, prefix, dir string, req conda.Request, cs *conda.Spec, out io.Writer) error {
	if !cs.Editable() {
		defer os.RemoveAll(dir)
	}
	specDir, err := conda.WriteProject(dir, req, cs)
	if err != nil {
		return err
	}
	file := filepath.Join(specDir, condaPipFile)
	if err := os.WriteFile(file, []byte(strings.Join(cs.Pip, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("write pip requirements: %w", err)
	}
	defer os.Remove(file)
	rel, err := filepath.Rel(dir, file)
	if err != nil {
		return err
	}
	return pipenv.Build(ctx, python, prefix, dir, filepath.ToSlash(rel), out)
}
