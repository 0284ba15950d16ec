package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/internal/testutil/fakeconda"
)

const dockerCondaScript = `import os, sys
print("PYTHON " + sys.executable)
print("CONDA_PREFIX " + os.environ.get("CONDA_PREFIX", "unset"))
print("MYVAR " + os.environ.get("MYVAR", "unset"))
for k in ["CONDA_DEFAULT_ENV", "CONDA_SHLVL", "JAVA_HOME", "GDAL_DATA"]:
    print(k + " " + os.environ.get(k, "unset"))
print("PIP " + open(os.environ["CONDA_PREFIX"] + "/conda-meta/pip-requirements").read().replace("\n", ";"))
`

// condaBaseImage builds, once per test, an image from the test base image
// with the fakeconda stand-in installed as /usr/local/bin/micromamba (no
// conda tool can be installed here), and removes it at cleanup.
func condaBaseImage(t *testing.T) string {
	t.Helper()
	requireDockerImage(t)
	dir := t.TempDir()
	tool, err := os.ReadFile(filepath.Join(fakeconda.Dir(), "micromamba"))
	if err != nil {
		t.Fatal(err)
	}
	ref := fmt.Sprintf("ferry-test-conda-base:%d", time.Now().UnixNano())
	// The label makes the image (and so every layer built on it) new, so
	// the derived image's conda step runs instead of coming from the
	// builder's cache of an earlier test run.
	testutil.WriteTree(t, dir, testutil.Tree{
		"micromamba": string(tool),
		"Dockerfile": "FROM " + dockerBaseImage + "\nCOPY micromamba /usr/local/bin/micromamba\nRUN chmod 0755 /usr/local/bin/micromamba\nLABEL ferry.test=" + ref + "\n",
	})
	if out, err := exec.Command("docker", "build", "-q", "-t", ref, dir).CombinedOutput(); err != nil {
		t.Fatalf("docker build %s: %v\n%s", ref, err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() })
	return ref
}

// TestDockerWithConda: --docker-image with --conda-file bakes the conda
// spec into a derived image with the image's conda tool, pip -r files
// included; the run's python is the environment's, with the spec's
// variables set; the next run reuses the
// image (also when only the spec's name: or comments changed), and a change
// to a pip file builds a new one. The plan names the image's key.
func TestDockerWithConda(t *testing.T) {
	base := condaBaseImage(t)
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{
		"train.py":             dockerCondaScript,
		"env/environment.yml":  "name: demo\ndependencies:\n- python=3.11\n- openjdk\n- gdal\n- pip\n- pip:\n  - -r requirements.txt\nvariables:\n  MYVAR: from-spec\n",
		"env/requirements.txt": "torch==2.3.0\n",
	})
	run := func() (result, string) {
		t.Helper()
		r := c.mustRun(src, "run", "--docker-image", base, "--conda-file", "env/environment.yml", "train.py")
		m := buildLine.FindStringSubmatch(r.Stdout)
		if m != nil {
			t.Cleanup(func() { exec.Command("docker", "rmi", "-f", m[1]).Run() })
			return r, m[1]
		}
		return r, ""
	}
	first, img := run()
	if img == "" || !strings.Contains(first.Stdout, "fakeconda: transaction finished") {
		t.Fatalf("first run did not build with the image's conda tool:\n%s\n%s", first.Stdout, first.Stderr)
	}
	if !strings.Contains(first.Stderr, "environment docker "+strings.TrimPrefix(img, "ferry-env:")+" ") {
		t.Errorf("the plan names another key than the image %s:\n%s", img, first.Stderr)
	}
	for _, want := range []string{"PYTHON /opt/ferry/env/bin/python\n", "CONDA_PREFIX /opt/ferry/env\n", "MYVAR from-spec\n", "PIP torch==2.3.0;\n",
		"CONDA_DEFAULT_ENV /opt/ferry/env\n", "CONDA_SHLVL 1\n", "JAVA_HOME /opt/ferry/env\n", "GDAL_DATA /opt/ferry/env/share/gdal\n"} {
		if !strings.Contains(first.Stdout, want) {
			t.Errorf("first run lacks %q:\n%s", want, first.Stdout)
		}
	}
	second, rebuilt := run()
	if rebuilt != "" || !strings.Contains(second.Stdout, img+" (cached)") || !strings.Contains(second.Stdout, "PIP torch==2.3.0;") {
		t.Errorf("second run rebuilt or did not say cached:\n%s", second.Stdout)
	}
	// Another name: and a comment: the normalised spec is the same.
	writeFile(t, filepath.Join(src, "env", "environment.yml"),
		"# the demo env\nname: renamed\ndependencies:\n- gdal\n- pip\n- openjdk\n- python=3.11\n- pip:\n  - -r requirements.txt\nvariables:\n  MYVAR: from-spec\n")
	if renamed, rebuilt := run(); rebuilt != "" || !strings.Contains(renamed.Stdout, img+" (cached)") {
		t.Errorf("a spec that normalises the same rebuilt the image:\n%s", renamed.Stdout)
	}
	writeFile(t, filepath.Join(src, "env", "requirements.txt"), "torch==2.4.0\n")
	third, img3 := run()
	if img3 == "" || img3 == img || !strings.Contains(third.Stdout, "PIP torch==2.4.0;") {
		t.Errorf("a changed pip file did not build a new image (%s, was %s):\n%s", img3, img, third.Stdout)
	}
}
