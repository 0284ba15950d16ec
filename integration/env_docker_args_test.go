package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

const dockerArgsScript = `import os
st = os.statvfs("/dev/shm")
print("SHM %d" % (st.f_blocks * st.f_frsize))
print("FOO " + os.environ.get("FOO", "unset"))
print("DATA " + open("/data/x.txt").read().strip())
try:
    open("/data/y.txt", "w")
    print("DATA WRITABLE")
except OSError:
    print("DATA READ-ONLY")
`

// TestDockerRunArgs: docker run arguments given with --docker-arg reach the
// container (a read-only data volume, shm size, a variable); an argument
// ferry does not honour is named in a warning before the run starts, and a
// malformed one fails before anything is uploaded.
func TestDockerRunArgs(t *testing.T) {
	requireDockerImage(t)
	c := newCLI(t)
	data := t.TempDir()
	testutil.WriteTree(t, data, testutil.Tree{"x.txt": "shared dataset\n"})
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	src := sourceDir(t, testutil.Tree{"train.py": dockerArgsScript})
	r := c.mustRun(src, "run", "--docker-image", dockerBaseImage,
		"--docker-arg=-v="+data+":/data:ro", "--docker-arg", "--shm-size=256m",
		"--docker-arg=-e", "--docker-arg=FOO=bar", "--docker-arg=--privileged", "train.py")
	for _, want := range []string{"SHM 268435456\n", "FOO bar\n", "DATA shared dataset\n", "DATA READ-ONLY\n"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.Stdout)
		}
	}
	if !strings.Contains(r.Stderr, `ignoring docker argument "--privileged"`) {
		t.Errorf("no warning about --privileged before the run:\n%s", r.Stderr)
	}
	if n := strings.Count(r.Stdout+r.Stderr, `ignoring docker argument "--privileged"`); n != 1 {
		t.Errorf("the warning about --privileged is printed %d times, want once:\nstdout:\n%s\nstderr:\n%s", n, r.Stdout, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(data, "y.txt")); err == nil {
		t.Error("the container wrote into a read-only volume")
	}

	bad := c.run(src, "run", "--docker-image", dockerBaseImage, "--docker-arg=-v=/data:/ferry/work", "train.py")
	if bad.Code != 2 || !strings.Contains(bad.Stderr, "where ferry mounts the run") {
		t.Errorf("volume over the run dir: exit %d\n%s", bad.Code, bad.Stderr)
	}
	if runs := c.mustRun(src, "runs", "--json").Stdout; strings.Count(runs, `"id"`) != 1 {
		t.Errorf("a refused run was recorded:\n%s", runs)
	}
}

type dockerPlanJSON struct {
	Environment struct {
		Kind       string   `json:"kind"`
		GPUs       string   `json:"gpus"`
		ShmSize    string   `json:"shm_size"`
		DockerArgs []string `json:"docker_args"`
	} `json:"environment"`
	Warnings []string `json:"warnings"`
}

// TestDockerPlanGPUsAndArgs: --gpus takes all, a count or device ids; a run
// configuration's gpuSupport, shmSize and arguments reach the plan, and
// flags given on the command line come after (and so win over) the file's.
func TestDockerPlanGPUsAndArgs(t *testing.T) {
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{
		"train.py": "print(1)\n",
		"gpu.runconfig": `script: train.py
environment:
  python:
    userManagedDependencies: true
  docker:
    enabled: true
    baseImage: pytorch/pytorch:2.3.0
    gpuSupport: true
    shmSize: 16g
    arguments: [--ipc=host, -v, /mnt/data:/data]
`,
	})
	plan := func(args ...string) dockerPlanJSON {
		t.Helper()
		r := c.mustRun(src, append([]string{"run", "--dry-run", "--json"}, args...)...)
		var p dockerPlanJSON
		if err := json.Unmarshal([]byte(r.Stdout), &p); err != nil {
			t.Fatalf("%v\n%s", err, r.Stdout)
		}
		return p
	}
	for gpus, want := range map[string]string{"all": "all", "2": "2", "device=0,3": "device=0,3", "0": "0"} {
		if p := plan("--docker-image", "img", "--gpus", gpus, "train.py"); p.Environment.GPUs != want || p.Environment.ShmSize != "2g" {
			t.Errorf("--gpus %s: plan %+v", gpus, p.Environment)
		}
	}
	if r := c.run(src, "run", "--dry-run", "--docker-image", "img", "--gpus", "two", "train.py"); r.Code != 2 || !strings.Contains(r.Stderr, "--gpus") {
		t.Errorf("--gpus two: exit %d\n%s", r.Code, r.Stderr)
	}
	p := plan("--runconfig", "gpu.runconfig")
	e := p.Environment
	if e.Kind != "docker" || e.GPUs != "all" || e.ShmSize != "16g" || strings.Join(e.DockerArgs, " ") != "--ipc=host -v /mnt/data:/data" {
		t.Errorf("runconfig plan: %+v", e)
	}
	p = plan("--runconfig", "gpu.runconfig", "--gpus", "1", "--docker-arg=--ipc=private")
	if e := p.Environment; e.GPUs != "1" || strings.Join(e.DockerArgs, " ") != "--ipc=host -v /mnt/data:/data --ipc=private" {
		t.Errorf("flags over runconfig: %+v", e)
	}
	p = plan("--gpus", "1", "train.py")
	if p.Environment.Kind != "user-managed" || !strings.Contains(strings.Join(p.Warnings, "\n"), "--gpus: apply to docker runs only") {
		t.Errorf("--gpus without docker: %+v", p)
	}
}

// TestDockerGPUsWithoutRuntime: --gpus reaches the engine as a device
// request; this machine's engine has no NVIDIA runtime, so the run fails
// and says what to install.
func TestDockerGPUsWithoutRuntime(t *testing.T) {
	requireDockerImage(t)
	out, err := exec.Command("docker", "info", "--format", "{{json .Runtimes}}").Output()
	if err != nil {
		t.Fatalf("docker info: %v", err)
	}
	if strings.Contains(string(out), "nvidia") {
		t.Skip("this engine has an NVIDIA runtime: the failure this test checks cannot happen")
	}
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"train.py": "print('ran')\n"})
	r := c.run(src, "run", "--docker-image", dockerBaseImage, "--gpus", "1", "train.py")
	if r.Code == 0 || strings.Contains(r.Stdout, "ran\n") || !strings.Contains(r.Stderr, "NVIDIA Container Toolkit") {
		t.Fatalf("--gpus 1 without a runtime: exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if rec := c.show(runIDOf(t, r.Stderr)); rec.Status != "Failed" {
		t.Errorf("status %s, want Failed", rec.Status)
	}
}
