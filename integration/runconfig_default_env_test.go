package integration

import (
	"os"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// amlNoDeps is a system-managed run configuration that names no conda
// dependencies: Azure ML built its default environment (python + pip).
const amlNoDeps = `script: train.py
target: local
environment:
  python:
    userManagedDependencies: false
`

// TestRunConfigDefaultEnvironment: with a conda tool on the target the
// default environment is built with it (a spec with python and pip) and
// the script runs in it; without one it is a pip venv of python3 (the
// default environment is pip-only), and a spec that needs conda for more
// than python and pip fails saying what to pass instead.
func TestRunConfigDefaultEnvironment(t *testing.T) {
	c, logPath := condaCLI(t, "DOCKER_HOST=unix:///nonexistent/ferry-no-docker.sock")
	src := t.TempDir()
	testutil.WriteTree(t, src, testutil.Tree{
		"train.py":                   condaTrain,
		"aml_config/local.runconfig": amlNoDeps,
		"aml_config/numpy.runconfig": amlNoDeps + "    condaDependencies:\n      dependencies:\n      - python\n      - numpy\n",
	})
	r := c.mustRun(src, "run", "--runconfig", "aml_config/local.runconfig")
	if !strings.Contains(r.Stderr, "building Azure ML's default environment") || fakeCalls(t, logPath) != 1 ||
		!strings.Contains(r.Stdout, "/envs/conda/") {
		t.Fatalf("default environment:\n%s\n%s", r.Stdout, r.Stderr)
	}

	bare := bareCLI(t)
	r = bare.mustRun(src, "run", "--runconfig", "aml_config/local.runconfig")
	if !strings.Contains(r.Stdout, "no conda tool on this target") || !strings.Contains(r.Stdout, "prefix="+bare.home) ||
		!strings.Contains(r.Stdout, "/envs/pip/") {
		t.Fatalf("default environment without a conda tool:\n%s\n%s", r.Stdout, r.Stderr)
	}
	r = bare.run(src, "run", "--runconfig", "aml_config/numpy.runconfig")
	if r.Code == 0 || !strings.Contains(r.Stdout+r.Stderr, "no conda tool") || !strings.Contains(r.Stdout+r.Stderr, "--requirements") {
		t.Fatalf("no conda tool: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
}

// bareCLI returns a CLI whose local executor finds no conda tool: PATH is
// /usr/bin:/bin, with Debian's python3 (python3-venv and pip).
func bareCLI(t *testing.T) *cli {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		testutil.SkipOrFail(t, "needs /usr/bin/python3")
	}
	bare := newCLI(t)
	bare.env = append(bare.env, "PATH=/usr/bin:/bin", "HOME="+bare.home, "DOCKER_HOST=unix:///nonexistent/ferry-no-docker.sock")
	return bare
}
