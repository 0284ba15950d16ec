package executor

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// recycleTree is sampleTree and ten more modules: enough files that a few
// changed ones are repaired rather than the tree given up.
func recycleTree() []testFile {
	files := append([]testFile{}, sampleTree...)
	for i := range 10 {
		files = append(files, testFile{fmt.Sprintf("pkg/m%02d.py", i), 0o644, fmt.Sprintf("X = %d\n", i)})
	}
	return files
}

// usedTree materialises snapshot id at dir as a run's tree and clears the
// spare trees the store built meanwhile, so that only a recycled one is left.
func usedTree(t *testing.T, s *Store, id, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.SkipOrFail(t, "run trees are copies, and recycled, only for a root executor")
	}
	if err := s.Materialize(t.Context(), id, dir); err != nil {
		t.Fatal(err)
	}
	s.waitSpare()
	if err := os.RemoveAll(s.path(SparesDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(s.path(SparesDir), 0o700); err != nil {
		t.Fatal(err)
	}
}

// TestRecycleRepairsAUsedTree: whatever a run did to its tree, the
// recycled spare is the snapshot again, and nothing outside the tree is
// touched.
func TestRecycleRepairsAUsedTree(t *testing.T) {
	s := newTestStore(t, t.TempDir())
	id := storeTree(t, s, recycleTree())
	work, outside := t.TempDir(), t.TempDir()
	ref, used := filepath.Join(work, "ref"), filepath.Join(work, "used")
	usedTree(t, s, id, ref)
	want := readTree(t, ref)
	usedTree(t, s, id, used)
	testutil.WriteTree(t, outside, testutil.Tree{"keep.txt": "outside\n"})
	at := func(p string) string { return filepath.Join(used, p) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Same size, mode put back: only the content tells.
	must(os.Chmod(at("data/a.csv"), 0o644))
	must(os.WriteFile(at("data/a.csv"), []byte("x,y\n9,9\n"), 0o644))
	must(os.Chmod(at("data/a.csv"), 0o444))
	// A second name outside the tree could change the file later.
	must(os.Link(at("pkg/m01.py"), filepath.Join(outside, "m01.py")))
	// What the run wrote, and a directory swapped for a symlink out.
	testutil.WriteTree(t, used, testutil.Tree{"outputs/model.bin": "weights", "__pycache__/x.pyc": "pyc"})
	must(os.RemoveAll(at("data/deep")))
	must(os.Symlink(outside, at("data/deep")))
	must(os.Remove(at("link")))
	must(os.Symlink("train.py", at("link")))
	must(os.Remove(at("empty")))
	must(os.Chmod(at("pkg"), 0o700))

	if !s.Recycle(id, used) {
		t.Fatal("a tree with 5 of 16 files changed was not recycled")
	}
	if _, err := os.Lstat(used); !os.IsNotExist(err) {
		t.Fatalf("the recycled tree is still at %s (%v)", used, err)
	}
	if n := countSpares(t, s); n != 1 {
		t.Fatalf("%d spare trees after recycling, want 1", n)
	}
	next := filepath.Join(work, "next")
	if err := s.Materialize(t.Context(), id, next); err != nil {
		t.Fatal(err)
	}
	if n := s.spare.taken.Load(); n != 1 {
		t.Fatalf("%d spare trees taken, want the recycled one", n)
	}
	if got := readTree(t, next); !equalTrees(got, want) {
		t.Fatalf("the recycled tree differs from the snapshot:\ngot  %v\nwant %v", got, want)
	}
	wantOutside := map[string]string{"keep.txt": "-rw-r--r-- outside\n", "m01.py": "-r--r--r-- X = 1\n"}
	if got := readTree(t, outside); !equalTrees(got, wantOutside) {
		t.Fatalf("outside the tree: %v, want %v", got, wantOutside)
	}
	// The name outside no longer reaches the tree's file.
	must(os.Chmod(filepath.Join(outside, "m01.py"), 0o644))
	must(os.WriteFile(filepath.Join(outside, "m01.py"), []byte("changed later\n"), 0o644))
	if b, err := os.ReadFile(filepath.Join(next, "pkg/m01.py")); err != nil || string(b) != "X = 1\n" {
		t.Fatalf("pkg/m01.py after its outside name was written: %q, %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(next, "pkg")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("pkg/: %v, %v; want 0755", fi.Mode(), err)
	}
}

// TestRecycleGivesUpAMostlyChangedTree: when more than half of the files
// changed, copying them again is no cheaper than a new tree; the tree is
// left for the caller to delete.
func TestRecycleGivesUpAMostlyChangedTree(t *testing.T) {
	s := newTestStore(t, t.TempDir())
	id := storeTree(t, s, recycleTree())
	used := filepath.Join(t.TempDir(), "used")
	usedTree(t, s, id, used)
	err := filepath.WalkDir(used, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			err = os.Remove(p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Recycle(id, used) {
		t.Fatal("a tree with every file gone was recycled")
	}
	if _, err := os.Stat(used); err != nil {
		t.Fatalf("the tree given up is gone: %v", err)
	}
	if n := countSpares(t, s); n != 0 {
		t.Fatalf("%d spare trees, want 0", n)
	}
}

// TestNoCopyWhileARecycledSpareIsLeft: a run that takes a spare tree while
// another of a close snapshot is left builds no new copy beside it.
func TestNoCopyWhileARecycledSpareIsLeft(t *testing.T) {
	s := newTestStore(t, t.TempDir())
	id := storeTree(t, s, recycleTree())
	work := t.TempDir()
	for _, d := range []string{"a", "b"} {
		usedTree(t, s, id, filepath.Join(work, d))
	}
	for _, d := range []string{"a", "b"} {
		if !s.Recycle(id, filepath.Join(work, d)) {
			t.Fatalf("tree %s not recycled", d)
		}
	}
	if err := s.Materialize(t.Context(), id, filepath.Join(work, "c")); err != nil {
		t.Fatal(err)
	}
	s.waitSpare()
	if n := countSpares(t, s); n != 1 {
		t.Fatalf("%d spare trees after a run took one of 2, want 1 (no copy built)", n)
	}
}

// TestRecycleStopsAtMaxSpares: trees beyond the spares kept are deleted,
// not checked (ferry runs prune of many runs).
func TestRecycleStopsAtMaxSpares(t *testing.T) {
	s := newTestStore(t, t.TempDir())
	id := storeTree(t, s, recycleTree())
	work := t.TempDir()
	for i := range maxSpares + 1 {
		usedTree(t, s, id, filepath.Join(work, fmt.Sprint(i)))
	}
	for i := range maxSpares + 1 {
		if got, want := s.Recycle(id, filepath.Join(work, fmt.Sprint(i))), i < maxSpares; got != want {
			t.Fatalf("tree %d: recycled %v, want %v", i, got, want)
		}
	}
}
