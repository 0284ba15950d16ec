package conda

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLocalRefs(t *testing.T) {
	spec := `dependencies:
- python
- pip:
  - --no-index
  - --find-links ./wheels
  - -e .[dev]
  - ./dist/x-1.0-py3-none-any.whl
  - ../lib
  - numpy==1.26
  - git+https://example.com/r.git#egg=r
  - -e git+https://example.com/e.git#egg=e
  - /opt/abs/y.whl
  - https://example.com/z.whl
  - -r reqs/more.txt
`
	s, err := ParseSent([]byte(spec), map[string][]byte{
		"reqs/more.txt": []byte("--find-links=local  # beside this file, as pip reads it\n-e ./sub\ntorch\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []LocalRef{{Path: "."}, {Path: "../lib"}, {Path: "dist/x-1.0-py3-none-any.whl"}, {Path: "reqs/local"}, {Path: "sub"}, {Path: "wheels"}}
	want[0].Editable, want[4].Editable = true, true
	if got := s.LocalRefs(); !reflect.DeepEqual(got, want) {
		t.Fatalf("LocalRefs =\n%+v\nwant\n%+v", got, want)
	}
	if !s.Editable() {
		t.Fatal("Editable = false")
	}
}

func TestHashLocalKey(t *testing.T) {
	spec := []byte("dependencies:\n- pip:\n  - ./wheels/a-1.0-py3-none-any.whl\n  - --find-links ../shared\n  - -e .\n")
	base := fstest.MapFS{
		"env/wheels/a-1.0-py3-none-any.whl": {Data: []byte("A")},
		"env/setup.py":                      {Data: []byte("setup()")},
		"env/__pycache__/x.pyc":             {Data: []byte("cache")},
		"shared/b-1.0.tar.gz":               {Data: []byte("B")},
	}
	skip := func(rel string, _ bool) bool { return strings.Contains(rel, "__pycache__") }
	key := func(fsys fstest.MapFS) string {
		t.Helper()
		s, err := ParseSent(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.HashLocal(LocalTree{Root: fsys, Dir: "env", Skip: skip}); err != nil {
			t.Fatal(err)
		}
		if len(s.PipLocal) != 3 || !strings.Contains(string(s.Normalized()), "pip_local:") {
			t.Fatalf("PipLocal %v\n%s", s.PipLocal, s.Normalized())
		}
		return s.Key()
	}
	k0 := key(base)
	with := func(name, data string) fstest.MapFS {
		m := fstest.MapFS{}
		for k, v := range base {
			m[k] = v
		}
		m[name] = &fstest.MapFile{Data: []byte(data)}
		return m
	}
	if key(with("env/__pycache__/x.pyc", "other")) != k0 {
		t.Error("a file left out of the snapshot changed the key")
	}
	for _, change := range [][2]string{{"env/wheels/a-1.0-py3-none-any.whl", "A2"}, {"shared/b-1.0.tar.gz", "B2"}, {"env/mod.py", "new"}} {
		if key(with(change[0], change[1])) == k0 {
			t.Errorf("changing %s kept the key", change[0])
		}
	}
	s, _ := ParseSent(spec, nil)
	if err := s.HashLocal(LocalTree{Root: base, Dir: "."}); err == nil {
		t.Error("a missing wheel was accepted")
	}
	s, _ = ParseSent([]byte("dependencies:\n- pip:\n  - ../../x.whl\n"), nil)
	if err := s.HashLocal(LocalTree{Root: base, Dir: "env"}); !errors.Is(err, ErrOutside) {
		t.Errorf("a wheel outside the project: %v, want ErrOutside", err)
	}
	s, _ = ParseSent([]byte("dependencies:\n- pip:\n  - ./wheels/a-1.0-py3-none-any.whl\n"), nil)
	if err := s.HashLocal(LocalTree{Root: base, Dir: "env", Skip: func(rel string, _ bool) bool { return strings.HasSuffix(rel, ".whl") }}); err == nil ||
		!strings.Contains(err.Error(), "ignore file") {
		t.Errorf("an ignored wheel: %v", err)
	}
}

// TestBuildDirMirrorsProject: the build folder holds the spec, its -r
// files and the local paths at the places they have relative to the spec,
// so the tool's pip step (run in the spec's folder) finds them.
func TestBuildDirMirrorsProject(t *testing.T) {
	proj := t.TempDir()
	for name, data := range map[string]string{
		"env/wheels/a.whl": "A", "env/pkg/setup.py": "setup()", "shared/w/b.whl": "B", "env/reqs.txt": "-e ./pkg\n",
	} {
		p := filepath.Join(proj, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(data), 0o644)
	}
	os.Symlink("setup.py", filepath.Join(proj, "env/pkg/link.py"))
	spec := []byte("dependencies:\n- pip:\n  - ./wheels/a.whl\n  - -f ../shared/w\n  - -r reqs.txt\n")
	reqs := map[string][]byte{"reqs.txt": []byte("-e ./pkg\n")}
	s, err := ParseSent(spec, reqs)
	if err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(proj)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	dir := filepath.Join(t.TempDir(), "k.build")
	specDir, err := writeBuildDir(dir, Request{Spec: spec, Requirements: reqs, Project: LocalTree{Root: root.FS(), Dir: "env"}}, s)
	if err != nil {
		t.Fatal(err)
	}
	if specDir != filepath.Join(dir, "env") {
		t.Fatalf("spec folder %s", specDir)
	}
	for name, want := range map[string]string{
		"env/" + SpecFileName: string(spec), "env/reqs.txt": "-e ./pkg\n", "env/wheels/a.whl": "A",
		"env/pkg/setup.py": "setup()", "shared/w/b.whl": "B",
	} {
		if got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name))); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if l, err := os.Readlink(filepath.Join(dir, "env/pkg/link.py")); err != nil || l != "setup.py" {
		t.Errorf("link copied as %q, %v", l, err)
	}
}

func TestPipOnly(t *testing.T) {
	tests := []struct {
		spec    string
		pipOnly bool
		minor   string
	}{
		{"dependencies:\n- python=3.8.13\n- pip:\n  - azureml-defaults\n", true, "3.8"},
		{"dependencies:\n- python\n- pip=23\n", true, ""},
		{"dependencies:\n- Python==3.10\n- pip:\n  - x\n", true, "3.10"},
		{"dependencies:\n- python>=3.8\n- pip:\n  - x\n", true, ""},
		{"dependencies:\n- pip:\n  - x\n", true, ""},
		{"dependencies:\n- python=3.8\n- numpy\n- pip:\n  - x\n", false, "3.8"},
		{"dependencies:\n- conda-forge::python=3.9\n", true, "3.9"},
	}
	for _, tt := range tests {
		s, err := ParseSent([]byte(tt.spec), nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.PipOnly() != tt.pipOnly || s.PythonMinor() != tt.minor {
			t.Errorf("%q: PipOnly %v PythonMinor %q, want %v %q", tt.spec, s.PipOnly(), s.PythonMinor(), tt.pipOnly, tt.minor)
		}
	}
}
