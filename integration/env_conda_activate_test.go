package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

const activateTrain = `import os
for k in ["JAVA_HOME", "GDAL_DATA", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "CONDA_SHLVL", "MYVAR"]:
    print(k + "=" + os.environ.get(k, "unset"))
print("PATH0=" + os.environ["PATH"].split(":")[0])
`

// TestCondaActivation: the script sees what "conda activate" gives: the
// activate.d scripts' variables, env_vars.d's, CONDA_SHLVL and
// CONDA_DEFAULT_ENV; a reserved PATH in variables: is ignored with a
// warning; sel(linux) selectors are accepted; a failed build's output
// appears once; env rm unlists the prefix from ~/.conda/environments.txt.
func TestCondaActivation(t *testing.T) {
	c, _ := condaCLI(t, "DOCKER_HOST=unix:///nonexistent/ferry-no-docker.sock")
	src := t.TempDir()
	testutil.WriteTree(t, src, testutil.Tree{
		"train.py": activateTrain,
		"env.yml":  "dependencies:\n- python=3.11\n- openjdk=17\n- gdal\n- sel(linux): libgcc\n- sel(win): pywin32\nvariables:\n  MYVAR: v\n  PATH: /clobbered\n",
		"bad.yml":  "dependencies:\n- fail-me\n",
	})
	r := c.mustRun(src, "run", "--conda-file", "env.yml", "train.py")
	out := r.Stdout
	prefixLine := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "CONDA_PREFIX=") {
			prefixLine = strings.TrimPrefix(l, "CONDA_PREFIX=")
		}
	}
	if prefixLine == "" || !strings.Contains(prefixLine, "/envs/conda/") {
		t.Fatalf("no prefix:\n%s\n%s", out, r.Stderr)
	}
	for _, w := range []string{
		"JAVA_HOME=" + prefixLine, "GDAL_DATA=" + prefixLine + "/share/gdal", "CONDA_DEFAULT_ENV=" + prefixLine,
		"CONDA_SHLVL=1", "MYVAR=v", "PATH0=" + prefixLine + "/bin",
	} {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("run output lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(r.Stderr, "PATH is reserved and ignored") {
		t.Errorf("no warning for the reserved PATH:\n%s", r.Stderr)
	}
	reg := filepath.Join(c.home, ".conda", "environments.txt")
	if data, _ := os.ReadFile(reg); !strings.Contains(string(data), prefixLine) {
		t.Fatalf("environments.txt lacks the prefix: %q", data)
	}
	c.mustRun(src, "env", "rm", filepath.Base(prefixLine)[:12])
	if data, _ := os.ReadFile(reg); strings.Contains(string(data), prefixLine) {
		t.Fatalf("env rm left the prefix in environments.txt: %q", data)
	}

	bad := c.run(src, "run", "--conda-file", "bad.yml", "train.py")
	if n := strings.Count(bad.Stdout+bad.Stderr, "nothing provides requested fail-me"); bad.Code == 0 || n != 1 {
		t.Fatalf("failed build: exit %d, tail shown %d times (want 1)\n%s\n%s", bad.Code, n, bad.Stdout, bad.Stderr)
	}
}
