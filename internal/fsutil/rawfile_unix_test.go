//go:build unix

package fsutil

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOpenSource reads a file whole, refuses a symlink in its place, and
// reports a second Close.
func TestOpenSource(t *testing.T) {
	dir := t.TempDir()
	want := strings.Repeat("ferry ", 50000) // several reads' worth
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenSource(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	if err != nil || string(got) != want {
		t.Fatalf("read %d bytes (%v), want %d", len(got), err, len(want))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("second Close = %v, want fs.ErrClosed", err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSource(link); !errors.Is(err, syscall.ELOOP) {
		t.Errorf("OpenSource(symlink) = %v, want ELOOP", err)
	}
}
