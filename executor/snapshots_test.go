package executor

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/ferry-ml/ferry/snapshot"
)

type testFile struct {
	path string
	mode fs.FileMode
	data string // for a symlink: its target
}

// manifestOf builds a manifest of files, sorted, and the blobs it needs
// (symlink blobs included, as the agent uploads them).
func manifestOf(t testing.TB, files []testFile) (*snapshot.Manifest, [][]byte) {
	t.Helper()
	m := &snapshot.Manifest{}
	var blobs [][]byte
	for _, f := range files {
		e := snapshot.Entry{Path: f.path, Mode: f.mode, Size: int64(len(f.data)), Blob: snapshot.BlobID(sha256.Sum256([]byte(f.data)))}
		if f.mode&fs.ModeSymlink != 0 {
			e.Link = f.data
		}
		m.Entries = append(m.Entries, e)
		blobs = append(blobs, []byte(f.data))
	}
	slices.SortFunc(m.Entries, func(a, b snapshot.Entry) int { return bytes.Compare([]byte(a.Path), []byte(b.Path)) })
	return m, blobs
}

func putManifest(t testing.TB, s *Store, m *snapshot.Manifest) (string, error) {
	t.Helper()
	data, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	id := m.ID().String()
	_, err = s.PutSnapshot(t.Context(), id, data)
	return id, err
}

var sampleTree = []testFile{
	{"train.py", 0o755, "print('hi')\n"},
	{"data/a.csv", 0o644, "x,y\n1,2\n"},
	{"data/deep/secret.txt", 0o600, "s3cret"},
	{"empty", 0o644, ""},
	{"link", fs.ModeSymlink | 0o777, "data/a.csv"},
	{"dangling", fs.ModeSymlink | 0o777, "../elsewhere"},
}

func TestPutSnapshotRequiresBlobs(t *testing.T) {
	dir := t.TempDir()
	s := newTestStore(t, dir)
	m, blobs := manifestOf(t, sampleTree)
	if _, err := s.Ingest(t.Context(), []string{writePack(t, dir, "p", blobs[1:])}); err != nil {
		t.Fatal(err)
	}
	_, err := putManifest(t, s, m)
	var mb *MissingBlobsError
	if !errors.As(err, &mb) || !slices.Equal(mb.Missing, []string{hexID(blobs[0])}) {
		t.Fatalf("put with a missing blob: %v, want MissingBlobsError naming %s", err, hexID(blobs[0])[:8])
	}
	if _, err := s.Snapshot(m.ID().String()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refused manifest was stored: %v", err)
	}
	if _, err := s.Ingest(t.Context(), []string{writePack(t, dir, "p2", blobs[:1])}); err != nil {
		t.Fatal(err)
	}
	id, err := putManifest(t, s, m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Snapshot(id)
	want, _ := m.MarshalBinary()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("stored manifest differs (err %v)", err)
	}
	var re *RequestError
	other := sha256.Sum256([]byte("other"))
	if _, err := s.PutSnapshot(t.Context(), snapshot.ID(other).String(), want); !errors.As(err, &re) {
		t.Errorf("put under the wrong id: %v, want a RequestError", err)
	}
}

func storeTree(t testing.TB, s *Store, files []testFile) string {
	t.Helper()
	m, blobs := manifestOf(t, files)
	if _, err := s.Ingest(t.Context(), []string{writePack(t, s.Dir(), "tree", blobs)}); err != nil {
		t.Fatal(err)
	}
	id, err := putManifest(t, s, m)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestMaterialize(t *testing.T) {
	s := newTestStore(t, t.TempDir())
	id := storeTree(t, s, sampleTree)
	out := filepath.Join(t.TempDir(), "work")
	if err := s.Materialize(t.Context(), id, out); err != nil {
		t.Fatal(err)
	}
	for _, f := range sampleTree {
		p := filepath.Join(out, f.path)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if want := materializedMode(f.mode); fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", f.path, fi.Mode(), want)
		}
		var got string
		if f.mode&fs.ModeSymlink != 0 {
			got, err = os.Readlink(p)
		} else {
			var b []byte
			b, err = os.ReadFile(p)
			got = string(b)
		}
		if err != nil || got != f.data {
			t.Errorf("%s: content %q (err %v), want %q", f.path, got, err, f.data)
		}
	}
	if err := s.Materialize(t.Context(), id, out); err == nil {
		t.Error("materialize into a non-empty directory succeeded")
	}
	if err := s.Materialize(t.Context(), hexID([]byte("nope")), filepath.Join(t.TempDir(), "w")); !errors.Is(err, ErrNotFound) {
		t.Errorf("materialize of an unknown snapshot: %v, want ErrNotFound", err)
	}
}

func TestMaterializeRefusesEscapes(t *testing.T) {
	s := newTestStore(t, t.TempDir())
	m, blobs := manifestOf(t, []testFile{{"x", 0o644, "payload"}})
	if _, err := s.Ingest(t.Context(), []string{writePack(t, s.Dir(), "p", blobs)}); err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	work := filepath.Join(parent, "work")
	os.Mkdir(work, 0o755)
	root, err := os.OpenRoot(work)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	// Manifests that Validate would refuse, handed to the writer directly.
	blob := m.Entries[0].Blob
	tests := []struct {
		name    string
		entries []snapshot.Entry
	}{
		{"dot-dot", []snapshot.Entry{{Path: "../x", Mode: 0o644, Size: 7, Blob: blob}}},
		{"absolute", []snapshot.Entry{{Path: filepath.Join(parent, "abs"), Mode: 0o644, Size: 7, Blob: blob}}},
		{"through a symlink", []snapshot.Entry{{Path: "esc/x", Mode: 0o644, Size: 7, Blob: blob}}},
		{"through a dir symlink", []snapshot.Entry{{Path: "esc/sub/x", Mode: 0o644, Size: 7, Blob: blob}}},
	}
	// A symlink already in the tree that points out of it.
	if err := root.Symlink("..", "esc"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.materialize(t.Context(), &snapshot.Manifest{Entries: tt.entries}, root)
			if err == nil {
				t.Fatal("escaping entry materialised")
			}
			// Paths of this test's own: a file another program left in /tmp
			// must not fail it.
			for _, p := range []string{filepath.Join(parent, "x"), filepath.Join(parent, "sub"), filepath.Join(parent, "abs")} {
				if _, err := os.Lstat(p); err == nil {
					t.Fatalf("%s written outside the directory", p)
				}
			}
		})
	}
}

// materializedMode is the mode a manifest entry gets in a run directory:
// files without an execute bit are read-only hardlinks to their blob;
// executables and symlinks keep their mode.
func materializedMode(m fs.FileMode) fs.FileMode {
	if m.IsRegular() && m.Perm()&0o111 == 0 {
		return 0o444
	}
	return m
}

func TestMaterializeLinksBlobs(t *testing.T) {
	s := newTestStore(t, t.TempDir())
	s.copyTrees = false // a non-root executor's trees
	id := storeTree(t, s, sampleTree)
	out := filepath.Join(t.TempDir(), "work")
	if err := s.Materialize(t.Context(), id, out); err != nil {
		t.Fatal(err)
	}
	linked := 0
	for _, f := range sampleTree {
		if !f.mode.IsRegular() {
			continue
		}
		fi, err := os.Lstat(filepath.Join(out, f.path))
		if err != nil {
			t.Fatal(err)
		}
		nlink := fi.Sys().(*syscall.Stat_t).Nlink
		if f.mode.Perm()&0o111 == 0 && nlink < 2 {
			t.Errorf("%s: %d links, want a hardlink to its blob", f.path, nlink)
		}
		if f.mode.Perm()&0o111 != 0 && nlink != 1 {
			t.Errorf("%s: executable has %d links, want a private copy", f.path, nlink)
		}
		linked++
	}
	if linked == 0 {
		t.Fatal("sample tree has no regular files")
	}
}
