package executor

import (
	"os"
	"path/filepath"
	"testing"
)

// TestStoreEmpty: a new store is empty; one blob, even one not yet made
// durable, or one snapshot manifest makes it not.
func TestStoreEmpty(t *testing.T) {
	dir := t.TempDir()
	s := newTestStore(t, dir)
	if !StoreEmpty(dir) {
		t.Fatal("a new store is not empty")
	}
	if !StoreEmpty(filepath.Join(t.TempDir(), "never-created")) {
		t.Error("a state directory that does not exist is not empty")
	}
	pack := writePack(t, dir, "p1", [][]byte{[]byte("one blob")})
	if _, err := s.Ingest(t.Context(), []string{pack}); err != nil {
		t.Fatal(err)
	}
	if StoreEmpty(dir) {
		t.Error("a store holding an ingested blob says it is empty")
	}

	dir2 := t.TempDir()
	newTestStore(t, dir2)
	if err := os.WriteFile(filepath.Join(dir2, SnapshotsDir, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if StoreEmpty(dir2) {
		t.Error("a store holding a snapshot says it is empty")
	}
}

// TestEnsureSaysWhenTheStoreIsEmpty: the protocol line ends in "empty"
// while the store holds nothing, whether ensure started the daemon or found
// it serving, and not once it holds a blob.
func TestEnsureSaysWhenTheStoreIsEmpty(t *testing.T) {
	requireBinary(t)
	dir := shortDir(t)
	t.Cleanup(func() { stopDaemon(t, dir) })
	if f := ensure(t, binCurrent, dir); len(f) != 5 || f[4] != "empty" {
		t.Fatalf("ensure on a new state directory printed %q, want it to end in empty", f)
	}
	if f := ensure(t, binCurrent, dir); len(f) != 5 {
		t.Fatalf("ensure with the daemon serving an empty store printed %q, want it to end in empty", f)
	}
	if err := os.WriteFile(filepath.Join(dir, BlobsDir, "ab", "abcd"), []byte("x"), 0o444); err != nil {
		t.Fatal(err)
	}
	if f := ensure(t, binCurrent, dir); len(f) != 4 {
		t.Fatalf("ensure with a blob stored printed %q, want no empty", f)
	}
}
