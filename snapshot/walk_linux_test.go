package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
	"golang.org/x/sys/unix"
)

func TestOpenDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := openDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil || len(names) != 1 || names[0] != "f" {
		t.Errorf("ReadDir of openDir = %v, %v; want [f]", names, err)
	}
	if _, err := openDir(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v, want fs.ErrNotExist", err)
	}
	if _, err := openDir(filepath.Join(dir, "f")); !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("a file: %v, want ENOTDIR", err)
	}
}

// TestReadDirEntries compares the getdents64 listing with os.ReadDir's on
// a directory that takes several reads of the buffer, with every type.
func TestReadDirEntries(t *testing.T) {
	dir := t.TempDir()
	want := map[string]fs.FileMode{"sub": fs.ModeDir, "link": fs.ModeSymlink, "fifo": fs.ModeNamedPipe}
	for i := range 3000 {
		name := fmt.Sprintf("file-with-a-rather-long-name-%05d.py", i)
		want[name] = 0
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(os.Mkdir(filepath.Join(dir, "sub"), 0o755), os.Symlink("sub", filepath.Join(dir, "link")),
		syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644)); err != nil {
		t.Fatal(err)
	}
	d, err := openDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got, err := readDirEntries(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for _, e := range got {
		if typ, ok := want[e.name]; !ok || typ != e.typ {
			t.Fatalf("entry %q type %v; want present with type %v", e.name, e.typ, typ)
		}
	}
}

// TestDirentTypeUnknown: where the file system reports DT_UNKNOWN the type
// comes from lstat, and a name gone meanwhile is left out.
func TestDirentTypeUnknown(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteTree(t, dir, testutil.Tree{"f": "x", "d/g": "y", "l": "->f"})
	d, err := openDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for name, want := range map[string]fs.FileMode{"f": 0, "d": fs.ModeDir, "l": fs.ModeSymlink} {
		if typ, ok, err := direntType(int(d.Fd()), name, unix.DT_UNKNOWN); err != nil || !ok || typ != want {
			t.Errorf("%s: %v %v %v, want %v", name, typ, ok, err, want)
		}
	}
	if _, ok, err := direntType(int(d.Fd()), "gone", unix.DT_UNKNOWN); ok || err != nil {
		t.Errorf("gone: ok %v, err %v; want left out", ok, err)
	}
}

// TestAppendDirentsRejectsBadRecords: a record shorter than its header or
// longer than the buffer is an error, not a read past the data.
func TestAppendDirentsRejectsBadRecords(t *testing.T) {
	rec := make([]byte, 24)
	binary.NativeEndian.PutUint64(rec, 7)
	copy(rec[19:], "ab\x00")
	for name, reclen := range map[string]uint16{"too short": 8, "past the end": 64} {
		binary.NativeEndian.PutUint16(rec[16:], reclen)
		if _, err := appendDirents(nil, -1, rec); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := appendDirents(nil, -1, rec[:10]); err == nil {
		t.Error("truncated header: no error")
	}
	binary.NativeEndian.PutUint16(rec[16:], 24)
	rec[18] = unix.DT_REG
	if got, err := appendDirents(nil, -1, rec); err != nil || len(got) != 1 || got[0].name != "ab" {
		t.Errorf("good record: %v, %v", got, err)
	}
}
