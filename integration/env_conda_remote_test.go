package integration

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/internal/testutil/fakeconda"
)

// TestCondaOnContainerTarget is the user story on a machine that
// shares nothing with this one: the same script with the same conda file,
// run twice on the container target, builds the environment once. The
// target has no conda tool and no channel can be reached here, so the test
// installs the fakeconda stand-in as /usr/local/bin/micromamba on it
// (wrapped to log each call to /tmp/fakeconda.log).
func TestCondaOnContainerTarget(t *testing.T) {
	ct := testutil.StartContainerTarget(t, testutil.ContainerOptions{})
	tool := filepath.Join(fakeconda.Dir(), "micromamba")
	if out, err := exec.Command("docker", "cp", tool, ct.Name+":/usr/local/lib/fakeconda").CombinedOutput(); err != nil {
		t.Fatalf("docker cp: %v\n%s", err, out)
	}
	ct.ExecAs(t, "root", "sh", "-c", `printf '#!/bin/sh\necho "$*" >>/tmp/fakeconda.log\nexec /usr/local/lib/fakeconda "$@"\n' >/usr/local/bin/micromamba &&
chmod 0755 /usr/local/bin/micromamba /usr/local/lib/fakeconda && touch /tmp/fakeconda.log && chmod 0666 /tmp/fakeconda.log`)
	calls := func() int {
		return strings.Count(ct.Exec(t, "cat", "/tmp/fakeconda.log"), "\n")
	}
	c := newCLI(t)
	c.attachContainer("box", ct)
	src := t.TempDir()
	testutil.WriteTree(t, src, testutil.Tree{
		"train.py": condaTrain,
		"env.yml":  "name: demo\nchannels: [conda-forge]\ndependencies:\n- python=3.11\n- numpy=1.26\nvariables:\n  MYVAR: remote\n",
	})
	first := c.mustRun(src, "run", "--compute", "box", "--conda-file", "env.yml", "train.py")
	if !strings.Contains(first.Stdout, "ferry: building conda environment ") || calls() != 1 {
		t.Fatalf("first run: %d calls\n%s\n%s", calls(), first.Stdout, first.Stderr)
	}
	if !strings.Contains(first.Stdout, "myvar=remote") || !strings.Contains(first.Stdout, "conda_prefix=/home/ferry/.ferry/envs/conda/") {
		t.Fatalf("script did not run in the prefix on the target:\n%s", first.Stdout)
	}
	second := c.mustRun(src, "run", "--compute", "box", "--conda-file", "env.yml", "train.py")
	if calls() != 1 || strings.Contains(second.Stdout, "building") || !strings.Contains(second.Stdout, "(cached)") {
		t.Fatalf("second run rebuilt: %d calls\n%s", calls(), second.Stdout)
	}
	list := c.mustRun(src, "env", "list", "--compute", "box")
	if !strings.Contains(list.Stdout, "conda") {
		t.Fatalf("env list on the target:\n%s", list.Stdout)
	}
}
