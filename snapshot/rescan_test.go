package snapshot

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// TestTakeRescan: given the folders changed since the saved manifest,
// Take reads only those again (a folder that appeared, whole) and gives
// the walk's manifest; the stat cache keeps the entries it did not read
// and takes the new keys; a folder named as new whose parent is not named
// as changed makes it walk instead.
func TestTakeRescan(t *testing.T) {
	src, cache := t.TempDir(), t.TempDir()
	testutil.WriteTree(t, src, testutil.Tree{".gitignore": "*.log\n", "a.py": "1", "pkg/m.py": "2",
		"pkg/sub/x.py": "3", "other/o.py": "4", "gone/deep/g.py": "7"})
	var tc TreeChanges
	opts := Options{CacheDir: cache, Tree: func(root, since string) TreeChanges { return tc }}
	take := func(opts Options) (*Manifest, Stats) {
		t.Helper()
		m, st, err := Take(t.Context(), src, opts)
		if err != nil {
			t.Fatal(err)
		}
		return m, st
	}
	tc = TreeChanges{Token: "w.1"}
	if _, st := take(opts); st.Rescanned != 0 || st.Watched {
		t.Fatalf("first take: %+v, want a walk", st)
	}

	p := func(rel string) string { return filepath.Join(src, rel) }
	os.WriteFile(p("pkg/m.py"), []byte("edited"), 0o644)
	os.MkdirAll(p("pkg/new/deep"), 0o755)
	os.WriteFile(p("pkg/new/deep/n.py"), []byte("5"), 0o644)
	os.WriteFile(p("pkg/debug.log"), []byte("ignored"), 0o644)
	os.Remove(p("other/o.py"))
	os.RemoveAll(p("gone"))
	tc = TreeChanges{Token: "w.2", Known: true, Dirs: []string{"", "other", "pkg", "pkg/new"}, Whole: []string{"pkg/new"}}
	m, st := take(opts)
	want, _ := take(Options{})
	if m.ID() != want.ID() {
		t.Fatalf("rescan gives %v, the walk %v", paths(m), paths(want))
	}
	// The root, other/ and pkg/ listed, pkg/new and pkg/new/deep walked;
	// the root's files hashed again: they are younger than the racy window.
	if st.Rescanned != 5 || st.Hashed != 4 || st.Watched {
		t.Errorf("rescan: %+v, want 5 folders read and 4 files hashed (.gitignore, a.py, pkg/m.py, pkg/new/deep/n.py)", st)
	}
	sc, err := loadStatCache(cacheFile(cache, src))
	if err != nil {
		t.Fatal(err)
	}
	var cached []string
	for _, e := range sc.entries {
		cached = append(cached, e.path)
		if i := slices.IndexFunc(m.Entries, func(me Entry) bool { return me.Path == e.path }); i < 0 || m.Entries[i].Blob != e.blob {
			t.Errorf("stat cache entry %s does not match the manifest", e.path)
		}
	}
	if wantCached := []string{".gitignore", "a.py", "pkg/m.py", "pkg/new/deep/n.py", "pkg/sub/x.py"}; !slices.Equal(cached, wantCached) {
		t.Errorf("stat cache holds %q, want %q", cached, wantCached)
	}

	os.WriteFile(p("pkg/sub/y.py"), []byte("6"), 0o644)
	tc = TreeChanges{Token: "w.3", Known: true, Whole: []string{"pkg/sub"}} // its parent not named
	if m, st = take(opts); st.Rescanned != 0 || st.Watched || !slices.Contains(paths(m), "pkg/sub/y.py") {
		t.Fatalf("a new folder whose parent is not named: %+v, %v; want a walk", st, paths(m))
	}
	tc = TreeChanges{Token: "w.3"}
	if again, st := take(opts); !st.Watched || again.ID() != m.ID() {
		t.Fatalf("after the walk, the same token: %+v; want the saved manifest", st)
	}
}

func paths(m *Manifest) []string {
	var out []string
	for _, e := range m.Entries {
		out = append(out, e.Path)
	}
	return out
}
