package integration

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

type overridePlanJSON struct {
	Environment struct {
		Kind       string   `json:"kind"`
		Python     string   `json:"python"`
		Image      string   `json:"image"`
		File       string   `json:"file"`
		GPUs       string   `json:"gpus"`
		ShmSize    string   `json:"shm_size"`
		DockerArgs []string `json:"docker_args"`
	} `json:"environment"`
	Warnings []string `json:"warnings"`
}

// TestRunConfigFlagsOverrideOnlyWhatTheyName: an environment flag given
// with a run configuration replaces only what it names; the file's docker
// settings (shmSize, arguments, gpuSupport) and docker itself stay, and
// what the flag makes meaningless is named in a warning. --python in a
// docker run is the interpreter in the container; with a conda spec it
// is ignored, with a warning.
func TestRunConfigFlagsOverrideOnlyWhatTheyName(t *testing.T) {
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{
		"train.py":   "print(1)\n",
		"env.yml":    "dependencies:\n- python=3.11\n",
		"Dockerfile": "FROM busybox\n",
		"docker.runconfig": `script: train.py
environment:
  python:
    userManagedDependencies: true
  docker:
    enabled: true
    baseImage: pytorch/pytorch:2.3.0
    gpuSupport: true
    shmSize: 16g
    arguments: [--ipc=host]
`,
		"conda.runconfig": `script: train.py
environment:
  python:
    userManagedDependencies: false
    condaDependenciesFile: env.yml
`,
	})
	plan := func(args ...string) (overridePlanJSON, string) {
		t.Helper()
		r := c.mustRun(src, append([]string{"run", "--dry-run", "--json"}, args...)...)
		var p overridePlanJSON
		if err := json.Unmarshal([]byte(r.Stdout), &p); err != nil {
			t.Fatalf("%v\n%s", err, r.Stdout)
		}
		return p, strings.Join(p.Warnings, "\n")
	}
	keptDocker := func(name string, p overridePlanJSON) {
		t.Helper()
		if e := p.Environment; e.Kind != "docker" || e.ShmSize != "16g" || e.GPUs != "all" || strings.Join(e.DockerArgs, " ") != "--ipc=host" {
			t.Errorf("%s: the file's docker settings are lost: %+v", name, e)
		}
	}

	p, _ := plan("--runconfig", "docker.runconfig", "--docker-image", "other:1")
	keptDocker("--docker-image", p)
	if p.Environment.Image != "other:1" {
		t.Errorf("--docker-image: image %q", p.Environment.Image)
	}
	p, _ = plan("--runconfig", "docker.runconfig", "--python", "/opt/py/bin/python")
	keptDocker("--python", p)
	if p.Environment.Image != "pytorch/pytorch:2.3.0" || p.Environment.Python != "/opt/py/bin/python" {
		t.Errorf("--python in a docker run: %+v", p.Environment)
	}
	p, w := plan("--runconfig", "docker.runconfig", "--dockerfile", "Dockerfile")
	keptDocker("--dockerfile", p)
	if !strings.Contains(w, "--dockerfile replaces the run configuration's docker.baseImage") {
		t.Errorf("--dockerfile: warnings %q", w)
	}
	p, _ = plan("--runconfig", "docker.runconfig", "--conda-file", "env.yml")
	keptDocker("--conda-file", p) // the spec is baked into the file's image
	p, w = plan("--runconfig", "conda.runconfig", "--python", "python3")
	if p.Environment.Kind != "user-managed" || p.Environment.Python != "python3" ||
		!strings.Contains(w, "--python python3 replaces the run configuration's conda environment") {
		t.Errorf("--python over a conda runconfig: %+v, warnings %q", p.Environment, w)
	}
	p, w = plan("--docker-image", "img", "--conda-file", "env.yml", "--python", "/x/python", "train.py")
	if p.Environment.Kind != "docker" || p.Environment.Python != "" || !strings.Contains(w, "--python /x/python is ignored") {
		t.Errorf("--python with a conda spec in docker: %+v, warnings %q", p.Environment, w)
	}
}

// TestDockerRunPython: --python in a docker run without a conda spec runs
// the script with that interpreter inside the container.
func TestDockerRunPython(t *testing.T) {
	requireDockerImage(t)
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"train.py": "import sys\nprint('exe', sys.executable)\n"})
	r := c.mustRun(src, "run", "--docker-image", dockerBaseImage, "--python", "python3", "train.py")
	if !strings.Contains(r.Stdout, "exe /") {
		t.Fatalf("docker run with --python python3: %s\n%s", r.Stdout, r.Stderr)
	}
	r = c.run(src, "run", "--docker-image", dockerBaseImage, "--python", "/nonexistent/python", "train.py")
	if r.Code == 0 || !strings.Contains(r.Stdout+r.Stderr, "/nonexistent/python") {
		t.Fatalf("docker run with a missing --python: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
}
