package executor

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func (s *Store) waitSpare() { s.spare.wg.Wait() }

func countSpares(t *testing.T, s *Store) int {
	t.Helper()
	if _, err := os.Stat(s.path(SparesDir)); err != nil {
		t.Fatal(err)
	}
	return s.spareCount()
}

// readTree returns path -> content (or "->target" for symlinks) and modes.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out[rel] = "->" + l
		case fi.IsDir():
			out[rel+"/"] = ""
		default:
			b, _ := os.ReadFile(p)
			out[rel] = fi.Mode().String() + " " + string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSpareTreeTakenAndAdapted(t *testing.T) {
	s := newTestStore(t, t.TempDir())
	a := storeTree(t, s, sampleTree)
	work := t.TempDir()
	if err := s.Materialize(t.Context(), a, filepath.Join(work, "1")); err != nil {
		t.Fatal(err)
	}
	s.waitSpare()
	if n := countSpares(t, s); n != 1 {
		t.Fatalf("%d spare trees after the first run, want 1", n)
	}
	// Same snapshot: the spare becomes the run directory.
	if err := s.Materialize(t.Context(), a, filepath.Join(work, "2")); err != nil {
		t.Fatal(err)
	}
	if n := s.spare.taken.Load(); n != 1 {
		t.Fatalf("%d spare trees taken, want 1", n)
	}
	want := readTree(t, filepath.Join(work, "1"))
	if got := readTree(t, filepath.Join(work, "2")); !equalTrees(got, want) {
		t.Fatalf("from the spare:\n%v\nwant\n%v", got, want)
	}
	s.waitSpare()
	// Another snapshot: one file changed, one removed, one added in a new directory.
	changed := append([]testFile{}, sampleTree...)
	for i := range changed {
		if changed[i].path == "data/a.csv" {
			changed[i].data = "x,y\n3,4\n"
		}
	}
	changed = removeFile(changed, "data/deep/secret.txt")
	changed = append(changed, testFile{"new/dir/b.txt", 0o644, "b"})
	b := storeTree(t, s, changed)
	if err := s.Materialize(t.Context(), b, filepath.Join(work, "3")); err != nil {
		t.Fatal(err)
	}
	if n := s.spare.taken.Load(); n != 2 {
		t.Fatalf("%d spare trees taken, want 2 (the second adapted to a new snapshot)", n)
	}
	s.waitSpare()
	os.RemoveAll(s.path(SparesDir)) // a fresh materialisation to compare with
	if err := s.Materialize(t.Context(), b, filepath.Join(work, "4")); err != nil {
		t.Fatal(err)
	}
	got, fresh := readTree(t, filepath.Join(work, "3")), readTree(t, filepath.Join(work, "4"))
	if !equalTrees(got, fresh) {
		t.Fatalf("adapted spare:\n%v\nfresh:\n%v", got, fresh)
	}
	if _, ok := got["data/deep/"]; ok {
		t.Errorf("emptied directory data/deep left behind")
	}
}

func TestSpareTreeRefusedAfterBlobRewritten(t *testing.T) {
	s := newTestStore(t, t.TempDir())
	s.copyTrees = false // the hardlinked trees of a non-root executor
	a := storeTree(t, s, sampleTree)
	run := filepath.Join(t.TempDir(), "run")
	if err := s.Materialize(t.Context(), a, run); err != nil {
		t.Fatal(err)
	}
	s.waitSpare()
	// A run (as root, or after chmod) rewrites a file it shares with the blob.
	p := filepath.Join(run, "data/a.csv")
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := s.Manifest(a)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "next")
	os.Mkdir(dir, 0o755)
	if s.takeSpare(t.Context(), m, dir) {
		t.Fatal("a spare whose blob was rewritten was used")
	}
}

func equalTrees(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func removeFile(files []testFile, p string) []testFile {
	var out []testFile
	for _, f := range files {
		if f.path != p {
			out = append(out, f)
		}
	}
	return out
}

// A run that finds the spare tree of a close snapshot still being built
// waits for it and takes it, instead of making its tree beside the build;
// a run of an unrelated snapshot does not wait.
func TestRunWaitsForSpareBeingBuilt(t *testing.T) {
	s := newTestStore(t, t.TempDir())
	release := make(chan struct{})
	s.spare.hold = func() { <-release }
	a := storeTree(t, s, sampleTree)
	work := t.TempDir()
	if err := s.Materialize(t.Context(), a, filepath.Join(work, "1")); err != nil {
		t.Fatal(err)
	}
	other := storeTree(t, s, []testFile{{"other.py", 0o644, "print(1)\n"}})
	if err := s.Materialize(t.Context(), other, filepath.Join(work, "other")); err != nil {
		t.Fatal(err) // the build of a's spare is held: an unrelated run must not wait for it
	}
	done := make(chan error, 1)
	go func() { done <- s.Materialize(t.Context(), a, filepath.Join(work, "2")) }()
	select {
	case err := <-done:
		t.Fatalf("the run did not wait for the spare being built (err %v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := s.spare.taken.Load(); n != 1 {
		t.Fatalf("%d spare trees taken, want 1 (the one the run waited for)", n)
	}
	s.waitSpare()
}
