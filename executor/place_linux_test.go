package executor

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
)

// TestStreamPlacesBlobsAtTheirNames: on this file system a streamed record
// is linked straight to its final name (0444, the stat it was indexed
// with), a record that does not match its id leaves no file anywhere, a
// leftover at a blob's name that the store does not trust is replaced,
// and tmp/ stays empty.
func TestStreamPlacesBlobsAtTheirNames(t *testing.T) {
	dir := t.TempDir()
	s := newTestStore(t, dir)
	if !s.canPlace {
		t.Fatalf("O_TMPFILE + linkat not usable in %s on Linux: the fast path is not tested", dir)
	}
	good := bytes.Repeat([]byte("g"), 3000)
	large := bytes.Repeat([]byte("L"), writebackMin+1)
	bad := bytes.Repeat([]byte("b"), 3000)
	torn := bytes.Repeat([]byte("t"), 5000)
	// A torn leftover at torn's final name: present, not trusted.
	tornPath := s.blobPath(sha256.Sum256(torn))
	if err := os.WriteFile(tornPath, torn[:100], 0o444); err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(bad)
	flipped[0] ^= 1
	resp := streamPack(t, s, []record{rec(good), rec(large), {sha256.Sum256(bad), flipped}, rec(torn)})
	if resp.Blobs != 3 || len(resp.Rejected) != 1 || resp.Rejected[0] != hexID(bad) {
		t.Fatalf("ingest = %+v, want 3 blobs stored and %s rejected", resp, hexID(bad)[:8])
	}
	for _, b := range [][]byte{good, large, torn} {
		p := s.blobPath(sha256.Sum256(b))
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("blob %s: read %d bytes, err %v; want its %d bytes", filepath.Base(p)[:8], len(got), err, len(b))
		}
		fi, _ := os.Lstat(p)
		if fi.Mode() != 0o444 {
			t.Errorf("blob %s mode %v, want 0444", filepath.Base(p)[:8], fi.Mode())
		}
		if st, ok := s.pendingStat(sha256.Sum256(b)); !ok || st != statOf(fi) {
			t.Errorf("blob %s pending stat %+v (%v), want %+v", filepath.Base(p)[:8], st, ok, statOf(fi))
		}
	}
	if _, err := os.Lstat(s.blobPath(sha256.Sum256(bad))); !os.IsNotExist(err) {
		t.Errorf("rejected record left a file at its name: %v", err)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, TmpDir)); len(left) != 0 {
		t.Errorf("left in tmp/: %v", left)
	}
	if err := s.makeDurable(); err != nil {
		t.Fatal(err)
	}
	missing, err := s.Missing(t.Context(), []string{hexID(good), hexID(large), hexID(torn)}, true)
	if err != nil || len(missing) != 0 {
		t.Fatalf("after makeDurable: missing %v, %v", missing, err)
	}
}
