package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// pipLocalBackend is an in-tree PEP 517/660 build backend with no
// requirements, so that real pip builds and installs the project offline
// (setuptools would need an index for its build isolation). Its editable
// wheel holds a .pth naming the project's src folder, as setuptools'
// editable installs of a src layout do.
const pipLocalBackend = `import os, zipfile
NAME, VERSION = "mypkg", "0.1"
DIST = NAME + "-" + VERSION

def _wheel(directory, files):
    name = DIST + "-py3-none-any.whl"
    info = DIST + ".dist-info/"
    files = dict(files)
    files[info + "METADATA"] = "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (NAME, VERSION)
    files[info + "WHEEL"] = "Wheel-Version: 1.0\nGenerator: ferry-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = "".join(p + ",,\n" for p in files) + info + "RECORD,,\n"
    with zipfile.ZipFile(os.path.join(directory, name), "w") as z:
        for p, body in files.items():
            z.writestr(p, body)
        z.writestr(info + "RECORD", record)
    return name

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    src = os.path.join("src", NAME)
    return _wheel(wheel_directory, {NAME + "/" + f: open(os.path.join(src, f)).read() for f in os.listdir(src)})

def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, {"__editable__." + DIST + ".pth": os.path.abspath("src") + "\n"})
`

// pipLocalTrain prints what the three local installs gave the run.
const pipLocalTrain = `import demo_pkg, other_pkg, mypkg
print("DEMO " + demo_pkg.VERSION + " OTHER " + other_pkg.MARKER + " MYPKG " + mypkg.MARKER)
print("MYPKG_FROM " + mypkg.__file__)
`

// pipLocalSpec installs from the project: a package found in a
// --find-links folder, a wheel named by path and the project itself,
// editable, all relative to the spec's folder as conda reads them.
const pipLocalSpec = `name: local
dependencies:
- python=3.11
- pip
- pip:
  - --no-index
  - --find-links ./wheels
  - demo_pkg==1.0
  - ./local/other_pkg-2.0-py3-none-any.whl
  - -e .
`

// pipLocalProject is a source tree whose conda spec's pip section names
// local paths; writeWheel adds the wheels.
func pipLocalProject(t *testing.T) (src string, writeWheel func(rel string, data []byte)) {
	t.Helper()
	src = sourceDir(t, testutil.Tree{
		"train.py":              pipLocalTrain,
		"environment.yml":       pipLocalSpec,
		"pyproject.toml":        "[build-system]\nrequires = []\nbuild-backend = \"ferry_test_backend\"\nbackend-path = [\".\"]\n",
		"ferry_test_backend.py": pipLocalBackend,
		"src/mypkg/__init__.py": "MARKER = \"v1\"\n",
		".gitignore":            "*.egg-info/\n",
	})
	writeWheel = func(rel string, data []byte) {
		p := filepath.Join(src, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeWheel("wheels/demo_pkg-1.0-py3-none-any.whl", wheel(t, "demo_pkg", "1.0", "d"))
	writeWheel("local/other_pkg-2.0-py3-none-any.whl", wheel(t, "other_pkg", "2.0", "first"))
	return src, writeWheel
}

var condaKeyLine = regexp.MustCompile(`building conda environment ([0-9a-f]{12})`)

// TestCondaPipLocalPaths: a conda spec's pip section that names
// "./local/x.whl", "--find-links ./wheels" with a package name, and "-e ."
// builds as "conda env create -f" does in the project folder (the conda
// stand-in runs real pip from the spec's folder, as conda does). The
// editable install refers to the environment's own copy of the project,
// not to the run's working directory; the next run reuses the
// environment; a changed wheel gives a new key and a build; removing an
// environment removes its project copy; a spec outside the source
// directory that names local paths is refused before anything runs.
func TestCondaPipLocalPaths(t *testing.T) {
	c, _ := condaCLI(t, "FAKECONDA_DELAY=0")
	src, writeWheel := pipLocalProject(t)

	first := c.mustRun(src, "run", "--conda-file", "environment.yml", "train.py")
	m := condaKeyLine.FindStringSubmatch(first.Stdout)
	if m == nil || !strings.Contains(first.Stdout, "DEMO 1.0 OTHER first MYPKG v1\n") {
		t.Fatalf("first run:\n%s\n%s", first.Stdout, first.Stderr)
	}
	key1 := m[1]
	from := regexp.MustCompile(`MYPKG_FROM (\S+)`).FindStringSubmatch(first.Stdout)
	if from == nil || !strings.Contains(from[1], "/envs/conda/"+key1) || !strings.Contains(from[1], ".src/src/mypkg/") {
		t.Fatalf("the editable install does not refer to the environment's project copy:\n%s", first.Stdout)
	}
	if !strings.Contains(first.Stderr, "environment conda "+key1) {
		t.Errorf("the plan names another key than the build %s:\n%s", key1, first.Stderr)
	}

	second := c.mustRun(src, "run", "--conda-file", "environment.yml", "train.py")
	if !strings.Contains(second.Stdout, "(cached)") || strings.Contains(second.Stdout, "building") ||
		!strings.Contains(second.Stdout, "MYPKG_FROM "+from[1]) {
		t.Fatalf("second run did not reuse the environment:\n%s", second.Stdout)
	}

	writeWheel("local/other_pkg-2.0-py3-none-any.whl", wheel(t, "other_pkg", "2.0", "second"))
	third := c.mustRun(src, "run", "--conda-file", "environment.yml", "train.py")
	m3 := condaKeyLine.FindStringSubmatch(third.Stdout)
	if m3 == nil || m3[1] == key1 || !strings.Contains(third.Stdout, "OTHER second") {
		t.Fatalf("a changed wheel did not build a new environment (was %s):\n%s", key1, third.Stdout)
	}

	c.mustRun(src, "env", "rm", key1)
	if left, _ := filepath.Glob(filepath.Join(c.home, "local", "*", "envs", "conda", key1+"*")); len(left) != 0 {
		for _, p := range left {
			if !strings.HasSuffix(p, ".lock") {
				t.Errorf("env rm left %s", p)
			}
		}
	}

	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "env.yml"), pipLocalSpec)
	r := c.run(src, "run", "--conda-file", filepath.Join(outside, "env.yml"), "train.py")
	if r.Code == 0 || !strings.Contains(r.Stderr, "lies outside the source directory") {
		t.Fatalf("a spec outside the source naming local paths: exit %d\n%s", r.Code, r.Stderr)
	}
}

// TestDockerWithCondaPipLocalPaths: the same spec baked into a docker
// image: the image's conda tool runs pip from the spec's folder in the
// image's copy of the project, which the image keeps for the editable
// install; a changed wheel builds a new image.
func TestDockerWithCondaPipLocalPaths(t *testing.T) {
	base := condaBaseImage(t)
	c := newCLI(t)
	src, writeWheel := pipLocalProject(t)
	run := func() (result, string) {
		t.Helper()
		r := c.mustRun(src, "run", "--docker-image", base, "--conda-file", "environment.yml", "train.py")
		if m := buildLine.FindStringSubmatch(r.Stdout); m != nil {
			t.Cleanup(func() { exec.Command("docker", "rmi", "-f", m[1]).Run() })
			return r, m[1]
		}
		return r, ""
	}
	first, img := run()
	if img == "" || !strings.Contains(first.Stdout, "DEMO 1.0 OTHER first MYPKG v1\n") ||
		!strings.Contains(first.Stdout, "MYPKG_FROM /opt/ferry/src/src/mypkg/__init__.py") {
		t.Fatalf("first run:\n%s\n%s", first.Stdout, first.Stderr)
	}
	if !strings.Contains(first.Stderr, "environment docker "+strings.TrimPrefix(img, "ferry-env:")+" ") {
		t.Errorf("the plan names another key than the image %s:\n%s", img, first.Stderr)
	}
	if second, rebuilt := run(); rebuilt != "" || !strings.Contains(second.Stdout, img+" (cached)") {
		t.Errorf("second run rebuilt:\n%s", second.Stdout)
	}
	writeWheel("local/other_pkg-2.0-py3-none-any.whl", wheel(t, "other_pkg", "2.0", "second"))
	if third, img3 := run(); img3 == "" || img3 == img || !strings.Contains(third.Stdout, "OTHER second") {
		t.Errorf("a changed wheel did not build a new image (%s, was %s):\n%s", img3, img, third.Stdout)
	}
}
