package fsutil

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// writers are the two whole-file writers; they differ only in durability.
var writers = map[string]func(string, []byte, os.FileMode) error{
	"WriteFileAtomic": WriteFileAtomic, "WriteCacheFile": WriteCacheFile,
}

func TestWriteFileAtomicReplacesRegularFile(t *testing.T) {
	for wname, write := range writers {
		t.Run(wname, func(t *testing.T) { testReplacesRegularFile(t, write) })
	}
}

func testReplacesRegularFile(t *testing.T, write func(string, []byte, os.FileMode) error) {
	dir := t.TempDir()
	name := filepath.Join(dir, "sub", "f")
	if err := write(name, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := write(name, []byte("two"), 0o640); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(name)
	if err != nil || string(got) != "two" {
		t.Fatalf("content = %q, %v; want two", got, err)
	}
	st, _ := os.Stat(name)
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640", st.Mode().Perm())
	}
	if sst, _ := os.Stat(filepath.Dir(name)); sst.Mode().Perm() != 0o700 {
		t.Errorf("folder mode = %v, want 0700", sst.Mode().Perm())
	}
	assertNoTemps(t, filepath.Dir(name))
}

func TestWriteAtomicRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{link, fifo, sub} {
		for wname, write := range writers {
			err := write(name, []byte("x"), 0o600)
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("%s(%s) = %v, want ErrNotRegular", wname, filepath.Base(name), err)
			}
		}
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link replaced: %v %v", st, err)
	}
	if got, _ := os.ReadFile(target); string(got) != "keep" {
		t.Errorf("link target = %q, want keep", got)
	}
	assertNoTemps(t, dir)
}

func TestWriteAtomicFailedWriteKeepsOld(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "f")
	if err := os.WriteFile(name, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteAtomic(name, 0o600, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if got, _ := os.ReadFile(name); string(got) != "old" {
		t.Errorf("content = %q, want old", got)
	}
	assertNoTemps(t, dir)
}

// TestWriteAtomicDiskFull writes more than a tiny
// tmpfs holds (as root); a full disk must be an error, not a
// silently truncated file.
func TestWriteAtomicDiskFull(t *testing.T) {
	dir := testutil.TinyFS(t, 64*1024)
	name := filepath.Join(dir, "f")
	if err := os.WriteFile(name, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := WriteFileAtomic(name, make([]byte, 1<<20), 0o600)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v, want ENOSPC", err)
	}
	if got, _ := os.ReadFile(name); string(got) != "old" {
		t.Errorf("content = %q, want old", got)
	}
	assertNoTemps(t, dir)
}

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
}
