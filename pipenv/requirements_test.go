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
