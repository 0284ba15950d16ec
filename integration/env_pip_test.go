package integration

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// wheel returns a minimal pure-Python wheel of package name at version
// whose module prints marker: METADATA, WHEEL and RECORD are all pip needs.
func wheel(t *testing.T, name, version, marker string) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	info := name + "-" + version + ".dist-info/"
	files := []struct{ path, body string }{
		{name + "/__init__.py", "VERSION = " + `"` + version + `"` + "\nMARKER = " + `"` + marker + `"` + "\n"},
		{info + "METADATA", "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"},
		{info + "WHEEL", "Wheel-Version: 1.0\nGenerator: ferry-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var record strings.Builder
	for _, f := range files {
		w, err := z.Create(f.path)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f.body))
		record.WriteString(f.path + ",,\n")
	}
	record.WriteString(info + "RECORD,,\n")
	w, _ := z.Create(info + "RECORD")
	w.Write([]byte(record.String()))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const pipTrain = `import os, sys, demo_pkg, other_pkg
print("DEMO " + demo_pkg.VERSION + " OTHER " + other_pkg.MARKER)
print("VENV " + os.environ.get("VIRTUAL_ENV", "unset") + " PREFIX " + sys.prefix)
`

func envList(t *testing.T, c *cli, dir string) []map[string]any {
	t.Helper()
	var envs []map[string]any
	if err := json.Unmarshal([]byte(c.mustRun(dir, "env", "list", "--json").Stdout), &envs); err != nil {
		t.Fatal(err)
	}
	return envs
}

// TestPipEnvironment: --requirements builds a venv with real pip once per
// key (options in the file honoured: --no-index, --find-links relative to
// the file; a nested -r naming a local wheel), reuses it, rebuilds when a
// local wheel's content changes, lists it as kind pip, and a failed build
// fails the run with pip's last lines and leaves nothing behind.
func TestPipEnvironment(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	c.env = append(c.env, "DOCKER_HOST=unix:///nonexistent/ferry-no-docker.sock")
	src := sourceDir(t, testutil.Tree{
		"train.py":              pipTrain,
		"reqs/requirements.txt": "--no-index\n--find-links ./wheels  # beside this file, as pip reads it\nDemo_Pkg==1.0\n-r more.txt\n",
		"reqs/more.txt":         "./local/other_pkg-2.0-py3-none-any.whl\n",
		"bad.txt":               "--no-index\nno-such-package-ferry==9\n",
	})
	write := func(rel string, data []byte) {
		p := filepath.Join(src, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("reqs/wheels/demo_pkg-1.0-py3-none-any.whl", wheel(t, "demo_pkg", "1.0", "d"))
	write("reqs/local/other_pkg-2.0-py3-none-any.whl", wheel(t, "other_pkg", "2.0", "first"))

	first := c.mustRun(src, "run", "--requirements", "reqs/requirements.txt", "train.py")
	if !strings.Contains(first.Stdout, "ferry: building pip environment") || !strings.Contains(first.Stdout, "DEMO 1.0 OTHER first") ||
		!strings.Contains(first.Stdout, "/envs/pip/") {
		t.Fatalf("first run:\n%s\n%s", first.Stdout, first.Stderr)
	}
	second := c.mustRun(src, "run", "--requirements", "reqs/requirements.txt", "train.py")
	if !strings.Contains(second.Stdout, "(cached)") || strings.Contains(second.Stdout, "building") {
		t.Fatalf("second run rebuilt:\n%s", second.Stdout)
	}
	write("reqs/local/other_pkg-2.0-py3-none-any.whl", wheel(t, "other_pkg", "2.0", "second"))
	third := c.mustRun(src, "run", "--requirements", "reqs/requirements.txt", "train.py")
	if !strings.Contains(third.Stdout, "building pip environment") || !strings.Contains(third.Stdout, "OTHER second") {
		t.Fatalf("changed local wheel not rebuilt:\n%s", third.Stdout)
	}
	envs := envList(t, c, src)
	if len(envs) != 2 || envs[0]["kind"] != "pip" || envs[0]["size"].(float64) <= 0 || envs[0]["last_used"] == nil {
		t.Fatalf("env list: %v", envs)
	}

	bad := c.run(src, "run", "--requirements", "bad.txt", "train.py")
	if bad.Code == 0 || !strings.Contains(bad.Stdout, "No matching distribution found for no-such-package-ferry") {
		t.Fatalf("failing build: exit %d\n%s\n%s", bad.Code, bad.Stdout, bad.Stderr)
	}
	if n := strings.Count(bad.Stdout+bad.Stderr, "No matching distribution found"); n != 1 {
		t.Errorf("pip's error shown %d times, want once:\n%s\n%s", n, bad.Stdout, bad.Stderr)
	}
	rec := showRun(t, c, src, runID(t, bad.Stderr))
	if reason, _ := rec["reason"].(string); rec["status"] != "Failed" || !strings.Contains(reason, "No matching distribution") {
		t.Fatalf("failed run: %v %q", rec["status"], reason)
	}
	if got := envList(t, c, src); len(got) != 2 {
		t.Fatalf("failed build listed: %v", got)
	}
	left, _ := filepath.Glob(filepath.Join(c.home, "local", "*", "envs", "pip", "*"))
	for _, p := range left {
		if !strings.HasSuffix(p, ".lock") && filepath.Base(p) != envs[0]["key"] && filepath.Base(p) != envs[1]["key"] {
			t.Errorf("left behind: %s", p)
		}
	}
	c.mustRun(src, "env", "rm", envs[0]["key"].(string)[:12])
	if got := envList(t, c, src); len(got) != 1 {
		t.Fatalf("after rm: %v", got)
	}
	if r := c.run(src, "run", "--requirements", "../outside.txt", "train.py"); r.Code == 0 || !strings.Contains(r.Stderr, "not inside the source directory") {
		t.Fatalf("outside file: exit %d\n%s", r.Code, r.Stderr)
	}
}

// TestPipEditableInstall: "-e ." in a requirements file installs the
// project editable into a venv that refers to its own copy of the project
// (kept beside the venv), not to the run's working directory; the next
// run reuses it; a change in the project is a new key and a build, which
// the run then sees; env rm removes the copy with the venv.
func TestPipEditableInstall(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	c.env = append(c.env, "DOCKER_HOST=unix:///nonexistent/ferry-no-docker.sock")
	src := sourceDir(t, testutil.Tree{
		"train.py":              "import mypkg\nprint('MYPKG ' + mypkg.MARKER)\nprint('MYPKG_FROM ' + mypkg.__file__)\n",
		"requirements.txt":      "--no-index\n-e .\n",
		"pyproject.toml":        "[build-system]\nrequires = []\nbuild-backend = \"ferry_test_backend\"\nbackend-path = [\".\"]\n",
		"ferry_test_backend.py": pipLocalBackend,
		"src/mypkg/__init__.py": "MARKER = \"v1\"\n",
	})
	first := c.mustRun(src, "run", "--requirements", "requirements.txt", "train.py")
	from := regexp.MustCompile(`MYPKG_FROM (\S+)`).FindStringSubmatch(first.Stdout)
	if !strings.Contains(first.Stdout, "MYPKG v1\n") || from == nil || !regexp.MustCompile(`/envs/pip/[0-9a-f]{64}\.src/src/mypkg/`).MatchString(from[1]) {
		t.Fatalf("first run does not import the venv's copy of the project:\n%s\n%s", first.Stdout, first.Stderr)
	}
	second := c.mustRun(src, "run", "--requirements", "requirements.txt", "train.py")
	if !strings.Contains(second.Stdout, "(cached)") || !strings.Contains(second.Stdout, "MYPKG_FROM "+from[1]) {
		t.Fatalf("second run did not reuse the venv:\n%s", second.Stdout)
	}
	writeFile(t, filepath.Join(src, "src", "mypkg", "__init__.py"), "MARKER = \"v2\"\n")
	third := c.mustRun(src, "run", "--requirements", "requirements.txt", "train.py")
	if !strings.Contains(third.Stdout, "building pip environment") || !strings.Contains(third.Stdout, "MYPKG v2\n") {
		t.Fatalf("a changed project was not rebuilt:\n%s", third.Stdout)
	}
	old := strings.TrimSuffix(from[1][:strings.Index(from[1], ".src/")], "/")
	c.mustRun(src, "env", "rm", filepath.Base(old))
	if _, err := os.Stat(old + ".src"); !os.IsNotExist(err) {
		t.Errorf("env rm left the project copy %s.src: %v", old, err)
	}
}
