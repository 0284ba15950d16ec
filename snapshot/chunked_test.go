package snapshot

import (
	"bytes"
	"crypto/sha256"
	"errors"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ferry-ml/ferry/internal/cdc"
)

func randomBytes(seed byte, n int) []byte {
	b := make([]byte, n)
	mrand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Only an edited file within [ChunkMin, ChunkMax] is chunked, from the read
// that hashes it, and its chunks are exactly cdc's chunks of its content.
func TestTakeChunksEditedLargeFiles(t *testing.T) {
	root, cache := t.TempDir(), t.TempDir()
	opts := Options{CacheDir: cache, ChunkMin: 1 << 20, ChunkMax: 4 << 20}
	big, huge, small := randomBytes(1, 3<<20), randomBytes(2, 5<<20), randomBytes(3, 512<<10)
	same := randomBytes(4, 2<<20)
	for name, b := range map[string][]byte{"big.bin": big, "huge.bin": huge, "small.bin": small, "same.bin": same} {
		writeFile(t, filepath.Join(root, name), b)
	}
	m, _ := takeFor(t, root, opts, 0, "big.bin", "huge.bin", "small.bin", "same.bin")
	for _, e := range m.Entries {
		if m.Chunks(e.Blob) != nil {
			t.Errorf("%s chunked on the first snapshot (nothing known about it)", e.Path)
		}
	}

	copy(big[1<<20:], randomBytes(5, 4096))
	copy(huge[1<<20:], randomBytes(6, 4096))
	small[100] ^= 1
	newer := randomBytes(7, 2<<20)
	for name, b := range map[string][]byte{"big.bin": big, "huge.bin": huge, "small.bin": small, "new.bin": newer} {
		writeFile(t, filepath.Join(root, name), b)
	}
	// A window of an hour: every entry is racy, so same.bin is hashed again
	// too (unchanged, so not chunked), and big.bin takes the double read.
	m, st := takeFor(t, root, opts, 3600e9, "big.bin", "huge.bin", "small.bin", "same.bin", "new.bin")
	if st.Hashed != 5 || st.Chunked != 1 {
		t.Fatalf("stats = %+v, want all 5 hashed and 1 chunked", st)
	}
	want, err := cdc.All(bytes.NewReader(big), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range m.Entries {
		got := m.Chunks(e.Blob)
		if e.Path != "big.bin" {
			if got != nil {
				t.Errorf("%s chunked; only the edited file within the bounds should be", e.Path)
			}
			continue
		}
		if e.Blob != sha256.Sum256(big) {
			t.Fatalf("big.bin hashed to %s, not its content", e.Blob)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("big.bin: %d chunks, want cdc's %d", len(got), len(want))
		}
	}
}

// A file that ends before the size it was stat'ed with yields no chunks
// (and errShortRead), and the chunking goroutine ends.
func TestHashChunkedShortFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	b := randomBytes(8, 1<<20)
	writeFile(t, p, b)
	hs := hasherPool.Get().(*hasher)
	defer hasherPool.Put(hs)
	if _, c, err := hs.hashChunked(p, int64(len(b))+1); !errors.Is(err, errShortRead) || c.wait() != nil {
		t.Fatalf("err = %v; want errShortRead and no chunks", err)
	}
	id, c, err := hs.hashChunked(p, int64(len(b)))
	chunks := c.wait()
	if err != nil || id != sha256.Sum256(b) || len(chunks) == 0 {
		t.Fatalf("whole file: id ok %v, %d chunks, err %v", id == sha256.Sum256(b), len(chunks), err)
	}
}
