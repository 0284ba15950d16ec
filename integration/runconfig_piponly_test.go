package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// amlPipOnly is a run configuration as Azure ML v1's SDK writes one for an
// environment made from pip requirements (Environment.from_pip_requirements
// sets the pip section of the default conda dependencies: a python pin,
// the anaconda and conda-forge channels, and the requirements' lines).
const amlPipOnly = `script: train.py
target: local
environment:
  python:
    userManagedDependencies: false
    interpreterPath: python
    condaDependencies:
      name: project_environment
      dependencies:
      - python=3.11
      - pip:
        - --no-index
        - --find-links ./wheels
        - demo_pkg==1.0
      channels:
      - anaconda
      - conda-forge
`

const pipOnlyTrain = `import os, sys, demo_pkg
print("DEMO " + demo_pkg.VERSION + " PY " + "%d.%d" % sys.version_info[:2])
print("PREFIX " + sys.prefix + " VENV " + os.environ.get("VIRTUAL_ENV", "unset"))
`

// TestRunConfigPipOnly: a run configuration whose conda dependencies ask
// conda only for python and pip (Azure ML's pip-only form) runs, on a
// target with no conda tool, in a pip venv of the pinned python with the
// pip section installed by real pip from the project's folder (relative
// --find-links); the venv is listed as kind pip and reused. The same file
// in condaDependenciesFile form behaves alike. With a conda tool the
// conda environment is built instead, as Azure ML did.
func TestRunConfigPipOnly(t *testing.T) {
	src := t.TempDir()
	testutil.WriteTree(t, src, testutil.Tree{
		"train.py":                          pipOnlyTrain,
		"aml_config/pip.runconfig":          amlPipOnly,
		"aml_config/file.runconfig":         "script: train.py\nenvironment:\n  python:\n    userManagedDependencies: false\n    condaDependenciesFile: aml_config/conda_dependencies.yml\n",
		"aml_config/conda_dependencies.yml": "name: project_environment\ndependencies:\n- python=3.11\n- pip\n- pip:\n  - --no-index\n  - --find-links ../wheels\n  - demo_pkg==1.0\n",
	})
	p := filepath.Join(src, "wheels", "demo_pkg-1.0-py3-none-any.whl")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, wheel(t, "demo_pkg", "1.0", "d"), 0o644); err != nil {
		t.Fatal(err)
	}

	bare := bareCLI(t)
	first := bare.mustRun(src, "run", "--runconfig", "aml_config/pip.runconfig")
	if !strings.Contains(first.Stdout, "no conda tool on this target") || !strings.Contains(first.Stdout, "ferry: building pip environment") ||
		!strings.Contains(first.Stdout, "DEMO 1.0 PY 3.11\n") || !strings.Contains(first.Stdout, "/envs/pip/") {
		t.Fatalf("pip-only form without a conda tool:\n%s\n%s", first.Stdout, first.Stderr)
	}
	envs := envList(t, bare, src)
	if len(envs) != 1 || envs[0]["kind"] != "pip" {
		t.Fatalf("env list: %v", envs)
	}
	second := bare.mustRun(src, "run", "--runconfig", "aml_config/pip.runconfig")
	if !strings.Contains(second.Stdout, "(cached)") || strings.Contains(second.Stdout, "building") {
		t.Fatalf("second run rebuilt:\n%s", second.Stdout)
	}
	file := bare.mustRun(src, "run", "--runconfig", "aml_config/file.runconfig")
	if !strings.Contains(file.Stdout, "no conda tool on this target") || !strings.Contains(file.Stdout, "DEMO 1.0 PY 3.11\n") {
		t.Fatalf("condaDependenciesFile form:\n%s\n%s", file.Stdout, file.Stderr)
	}

	c, logPath := condaCLI(t, "FAKECONDA_DELAY=0")
	withTool := c.mustRun(src, "run", "--runconfig", "aml_config/pip.runconfig")
	if fakeCalls(t, logPath) != 1 || !strings.Contains(withTool.Stdout, "/envs/conda/") || !strings.Contains(withTool.Stdout, "DEMO 1.0") ||
		strings.Contains(withTool.Stdout, "no conda tool") {
		t.Fatalf("with a conda tool the conda environment is not built:\n%s\n%s", withTool.Stdout, withTool.Stderr)
	}
}
