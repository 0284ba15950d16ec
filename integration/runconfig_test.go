package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// amlProject copies the real Azure ML project files of runconfig/testdata/aml
// (the same files as /work/shared/compat/aml, laid out as Azure ML projects
// are) into a temporary project with a train.py: testdata/aml/<from> becomes
// <project>/<to>.
func amlProject(t *testing.T, from, to string) string {
	t.Helper()
	project := t.TempDir()
	dst := filepath.Join(project, to)
	src := filepath.Join("..", "runconfig", "testdata", "aml", from)
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteTree(t, project, testutil.Tree{"train.py": "import os\nprint('EXAMPLE_ENV_VAR=' + os.environ['EXAMPLE_ENV_VAR'])\n"})
	return project
}

type planJSON struct {
	Compute     string `json:"compute"`
	Script      string `json:"script"`
	Environment struct {
		Kind, Python, Key, Image, File string
		GPUs                           string `json:"gpus"`
		ShmSize                        string `json:"shm_size"`
	} `json:"environment"`
	Env      map[string]string `json:"environment_variables"`
	EnvSpec  string            `json:"environment_spec"`
	Warnings []string          `json:"warnings"`
}

func TestRunConfigCompatPlans(t *testing.T) {
	c := newCLI(t)
	tests := []struct {
		from, to, file string
		kind, image    string
		warnings       []string // substrings, each naming a field
	}{
		{"aml_config", "aml_config", "aml_config/local.runconfig", "conda", "", []string{"environment.spark.packages"}},
		{"aml_config", "aml_config", "aml_config/docker.runconfig", "docker", "mcr.microsoft.com/azureml/base:0.2.0", []string{"framework = PySpark", "environment.spark.packages"}},
		{"azureml-cli", "", ".azureml/aml_compute.runconfig", "docker", "mcr.microsoft.com/azureml/base:0.2.1",
			[]string{"dataReferences.workspaceblobstore"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rcPath := filepath.Join(amlProject(t, tt.from, tt.to), tt.file)
			args := []string{"run", "--dry-run", "--json", "--runconfig", rcPath}
			if tt.from == "azureml-cli" {
				// Its target is not attached: refused, as Azure ML would,
				// with the attach command; --compute says where to run.
				r := c.run(t.TempDir(), args...)
				if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, `target "<put your compute target name here>" is not an attached compute target`) ||
					!strings.Contains(r.Stderr, "ferry compute attach NAME --address HOST") {
					t.Fatalf("unattached target: exit %d\nstdout %q\nstderr %q", r.Code, r.Stdout, r.Stderr)
				}
				args = append(args, "--compute", "local")
			}
			r := c.mustRun(t.TempDir(), args...)
			var p planJSON
			if err := json.Unmarshal([]byte(r.Stdout), &p); err != nil {
				t.Fatalf("%v\n%s", err, r.Stdout)
			}
			if p.Compute != "local" || p.Script != "train.py" || p.Environment.Kind != tt.kind || p.Environment.Image != tt.image ||
				len(p.Environment.Key) != 64 || p.Env["EXAMPLE_ENV_VAR"] != "EXAMPLE_VALUE" || !strings.Contains(p.EnvSpec, "azureml-defaults") ||
				!strings.HasSuffix(p.Environment.File, "conda_dependencies.yml") {
				t.Fatalf("plan: %+v", p)
			}
			// gpuSupport: false and no shmSize: no GPUs, Azure ML's 2g.
			if tt.kind == "docker" && (p.Environment.GPUs != "" || p.Environment.ShmSize != "2g") {
				t.Errorf("docker options in the plan: %+v", p.Environment)
			}
			for _, w := range tt.warnings {
				if !strings.Contains(strings.Join(p.Warnings, "\n"), w) || !strings.Contains(r.Stderr, w) {
					t.Errorf("no warning naming %q in %q / stderr %q", w, p.Warnings, r.Stderr)
				}
			}
			// Explicit flags win over the file.
			r = c.mustRun(t.TempDir(), "run", "--dry-run", "--json", "--python", "python3", "--compute", "local", "--env", "EXAMPLE_ENV_VAR=x", "--runconfig", rcPath)
			// --python replaces the conda environment; docker stays.
			kind := "user-managed"
			if tt.kind == "docker" {
				kind = "docker"
			}
			if err := json.Unmarshal([]byte(r.Stdout), &p); err != nil || p.Environment.Kind != kind || p.Environment.Python != "python3" || p.Env["EXAMPLE_ENV_VAR"] != "x" ||
				!strings.Contains(strings.Join(p.Warnings, "\n"), "--python python3 replaces the run configuration's conda environment") {
				t.Fatalf("override: %+v %v", p, err)
			}
		})
	}
}

func TestRunConfigRunsEndToEnd(t *testing.T) {
	c, logPath := condaCLI(t)
	dir := amlProject(t, "aml_config", "aml_config")
	// local.runconfig: conda from aml_config/conda_dependencies.yml.
	r := c.mustRun(dir, "run", "--runconfig", "aml_config/local.runconfig")
	if !strings.Contains(r.Stdout, "EXAMPLE_ENV_VAR=EXAMPLE_VALUE") || !strings.Contains(r.Stdout, "building conda environment") || fakeCalls(t, logPath) != 1 {
		t.Fatalf("runconfig run:\n%s\n%s", r.Stdout, r.Stderr)
	}
	// A script on the command line replaces the file's.
	testutil.WriteTree(t, dir, testutil.Tree{"other.py": "import sys\nprint('args', sys.argv[1:])\n"})
	r = c.mustRun(dir, "run", "--runconfig", "aml_config/local.runconfig", "other.py", "--x", "1")
	if !strings.Contains(r.Stdout, "args ['--x', '1']") || fakeCalls(t, logPath) != 1 {
		t.Fatalf("script override:\n%s", r.Stdout)
	}
	// docker.runconfig: planned as docker; the executor refuses until wired.
	if r := c.run(dir, "run", "--runconfig", "aml_config/docker.runconfig"); r.Code == 0 {
		t.Logf("docker run succeeded: docker environments are wired")
	} else if !strings.Contains(r.Stdout+r.Stderr, "docker") {
		t.Fatalf("docker run failed without saying why:\n%s\n%s", r.Stdout, r.Stderr)
	}
}

func TestRunConfigInit(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	c.mustRun(dir, "runconfig", "init")
	file := filepath.Join(dir, "aml_config", "ferry.runconfig")
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
	if r := c.run(dir, "runconfig", "init"); r.Code == 0 || !strings.Contains(r.Stderr, "already exists") {
		t.Fatalf("second init: exit %d %s", r.Code, r.Stderr)
	}
	testutil.WriteTree(t, dir, testutil.Tree{"train.py": "print('ok')\n"})
	r := c.mustRun(dir, "run", "--runconfig", file)
	if !strings.Contains(r.Stdout, "ok") || strings.Contains(r.Stderr, "warning") {
		t.Fatalf("init's file:\n%s\n%s", r.Stdout, r.Stderr)
	}
}
