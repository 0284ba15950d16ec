package transport

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ferry-ml/ferry/internal/fsutil"
)

// specialFile makes a non-regular file at name: a character device like
// /dev/null as root, a FIFO otherwise.
func specialFile(t *testing.T, name string) {
	t.Helper()
	if os.Geteuid() == 0 {
		if err := unix.Mknod(name, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := unix.Mkfifo(name, 0o666); err != nil {
		t.Fatal(err)
	}
}

func assertStillSpecial(t *testing.T, name string) {
	t.Helper()
	st, err := os.Lstat(name)
	if err != nil || st.Mode().IsRegular() {
		t.Fatalf("%s was replaced by a regular file (%v, %v)", name, st.Mode(), err)
	}
}

// TestAppendKnownHostDevNullRecordsNothing: UserKnownHostsFile /dev/null,
// directly or through a link, accepts a key without touching the device.
func TestAppendKnownHostDevNullRecordsNothing(t *testing.T) {
	dir := t.TempDir()
	null := filepath.Join(dir, "null")
	specialFile(t, null)
	old := devNull
	devNull = null
	t.Cleanup(func() { devNull = old })
	link := filepath.Join(dir, "known_hosts")
	if err := os.Symlink(null, link); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{null, link} {
		recorded, err := appendKnownHost(f, "host ssh-ed25519 AAAA")
		if err != nil || recorded {
			t.Errorf("appendKnownHost(%s) = %v, %v; want nothing recorded, no error", filepath.Base(f), recorded, err)
		}
	}
	assertStillSpecial(t, null)
	if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("link replaced: %v", err)
	}
}

// TestAppendKnownHostRefusesDevice: any other non-regular known_hosts is
// refused and left as it is.
func TestAppendKnownHostRefusesDevice(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "dev")
	specialFile(t, dev)
	_, err := appendKnownHost(dev, "host ssh-ed25519 AAAA")
	if !errors.Is(err, fsutil.ErrNotRegular) {
		t.Fatalf("err = %v, want ErrNotRegular", err)
	}
	assertStillSpecial(t, dev)
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("files left in %s: %v", dir, ents)
	}
}

// TestAppendKnownHostWritesThroughLinks: like OpenSSH's fopen(file, "a"),
// a chain of links (relative, and one dangling) is written through to its
// final target; the links themselves stay links.
func TestAppendKnownHostWritesThroughLinks(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "known_hosts")
	if err := os.MkdirAll(filepath.Dir(real), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("a ssh-ed25519 AAAA\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	mid := filepath.Join(dir, "mid")
	if err := os.Symlink("dotfiles/known_hosts", mid); err != nil {
		t.Fatal(err)
	}
	top := filepath.Join(dir, "known_hosts")
	if err := os.Symlink(mid, top); err != nil {
		t.Fatal(err)
	}
	if _, err := appendKnownHost(top, "b ssh-ed25519 BBBB"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(real)
	if string(got) != "a ssh-ed25519 AAAA\nb ssh-ed25519 BBBB\n" {
		t.Errorf("target = %q", got)
	}
	for _, l := range []string{top, mid} {
		if st, err := os.Lstat(l); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a link", l)
		}
	}
	if st, _ := os.Stat(real); st.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640 kept", st.Mode().Perm())
	}

	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink("created/by/write", dangling); err != nil {
		t.Fatal(err)
	}
	if _, err := appendKnownHost(dangling, "c ssh-ed25519 CCCC"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "created/by/write")); string(got) != "c ssh-ed25519 CCCC\n" {
		t.Errorf("dangling target = %q", got)
	}
}
