package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tree maps "/"-separated relative paths to file contents. A path ending in
// "/" is an empty directory; a value starting with "->" makes a symlink to
// the rest of the value.
type Tree map[string]string

// WriteTree creates tree under dir.
func WriteTree(t testing.TB, dir string, tree Tree) {
	t.Helper()
	for rel, content := range tree {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if strings.HasSuffix(rel, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// DirNames returns the names in dir, sorted.
func DirNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}
