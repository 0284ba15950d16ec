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
// the script runs in it; without one the run fails saying what to pass.
func TestRunConfigDefaultEnvironment(t *testing.T) {
	c, logPath := condaCLI(t, "DOCKER_HOST=unix:///nonexistent/ferry-no-docker.sock")
	src := t.TempDir()
	testutil.WriteTree(t, src, testutil.Tree{
		"train.py":                   condaTrain,
		"aml_config/local.runconfig": amlNoDeps,
	})
	r := c.mustRun(src, "run", "--runconfig", "aml_config/local.runconfig")
	if !strings.Contains(r.Stderr, "building Azure ML's default environment") || fakeCalls(t, logPath) != 1 ||
		!strings.Contains(r.Stdout, "/envs/conda/") {
		t.Fatalf("default environment:\n%s\n%s", r.Stdout, r.Stderr)
	}

	bare := newCLI(t)
	bare.env = append(bare.env, "PATH=/usr/bin:/bin", "HOME="+bare.home)
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("needs /usr/bin/python3")
	}
	r = bare.run(src, "run", "--runconfig", "aml_config/local.runconfig")
	if r.Code == 0 || !strings.Contains(r.Stdout+r.Stderr, "no conda tool") || !strings.Contains(r.Stdout+r.Stderr, "--requirements") {
		t.Fatalf("no conda tool: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
}
