package pipenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestParseAndKey(t *testing.T) {
	base := map[string]string{
		"r/requirements.txt": "--no-index\n--find-links ./wheels # local\nNumPy==1.0\n-r nested/more.txt\n",
		"r/nested/more.txt":  "-c ../constraints.txt\n../dist/x-1.0.tar.gz # from pip's working directory, the top file's folder\n",
		"r/constraints.txt":  "numpy<2\n",
		"r/wheels/a.whl":     "A",
		"dist/x-1.0.tar.gz":  "X",
	}
	root := writeTree(t, base)
	req, err := Parse(root, "r/requirements.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Lines) != 3 || req.Local["r/wheels/a.whl"] == "" || req.Local["dist/x-1.0.tar.gz"] == "" {
		t.Fatalf("parsed %+v", req)
	}
	if strings.Join(req.Index, ";") != "--no-index;--find-links ./wheels" {
		t.Fatalf("index options %q", req.Index)
	}
	key := req.Key("3.11.7")
	tests := []struct {
		name   string
		change map[string]string
		same   bool
	}{
		{"comment and spelling", map[string]string{"r/requirements.txt": "# hi\n--no-index\n--find-links ./wheels\nnumpy == 1.0\n-r nested/more.txt\n"}, true},
		{"nested file", map[string]string{"r/constraints.txt": "numpy<3\n"}, false},
		{"find-links wheel", map[string]string{"r/wheels/a.whl": "B"}, false},
		{"local sdist", map[string]string{"dist/x-1.0.tar.gz": "Y"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range base {
				files[k] = v
			}
			for k, v := range tt.change {
				files[k] = v
			}
			r, err := Parse(writeTree(t, files), "r/requirements.txt")
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Key("3.11.7") == key; got != tt.same {
				t.Fatalf("same key = %v, want %v", got, tt.same)
			}
		})
	}
	if req.Key("3.12.1") == key {
		t.Fatal("another interpreter version gives the same key")
	}
}

func TestParseErrors(t *testing.T) {
	root := writeTree(t, map[string]string{"a.txt": "-r ../../etc/passwd\n", "b.txt": "./missing.whl\n"})
	for _, f := range []string{"a.txt", "b.txt", "none.txt", "../x.txt"} {
		if _, err := Parse(root, f); err == nil {
			t.Errorf("Parse(%s) succeeded", f)
		}
	}
}

// TestEditable: "-e ." and "./lib" are hashed as folders (a change in them
// is a new key; what skip leaves out is not), "-e" URLs are not, and
// Mirror copies what the requirements name to a folder a build can use.
func TestEditable(t *testing.T) {
	base := map[string]string{
		"requirements.txt":   "--no-index\n-e .[dev]\n./lib\n-e git+https://example.com/r.git#egg=r\n",
		"setup.py":           "setup()",
		"lib/pyproject.toml": "[project]",
		"cache/junk":         "x",
	}
	skip := func(rel string, _ bool) bool { return strings.HasPrefix(rel, "cache") }
	root := writeTree(t, base)
	req, err := ParseSkipping(root, "requirements.txt", skip)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(req.Editable, ",") != "." || req.Local["."] == "" || req.Local["lib"] == "" {
		t.Fatalf("editable %q local %v", req.Editable, req.Local)
	}
	key := req.Key("3.11")
	for _, tt := range []struct {
		file, body string
		same       bool
	}{{"cache/junk", "y", true}, {"lib/pyproject.toml", "[project]\nname='x'", false}, {"setup.py", "setup(name='x')", false}} {
		files := map[string]string{}
		for k, v := range base {
			files[k] = v
		}
		files[tt.file] = tt.body
		r, err := ParseSkipping(writeTree(t, files), "requirements.txt", skip)
		if err != nil {
			t.Fatal(err)
		}
		if (r.Key("3.11") == key) != tt.same {
			t.Errorf("changing %s: same key = %v, want %v", tt.file, !tt.same, tt.same)
		}
	}
	dir := filepath.Join(t.TempDir(), "src")
	if err := req.Mirror(root, dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"requirements.txt", "setup.py", "lib/pyproject.toml"} {
		if got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name))); err != nil || string(got) != base[name] {
			t.Errorf("mirror %s = %q, %v", name, got, err)
		}
	}
}
