package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// seeded returns n pseudo-random bytes from seed: incompressible content
// whose chunk boundaries are the same in every run, so that the bytes an
// edit costs are too (over random content a 4 KiB edit's new chunks are
// about 23 KiB at the median and up to 73 KiB: internal/cdc).
func seeded(seed uint64, n int) []byte {
	b := make([]byte, n)
	var key [32]byte
	key[0] = byte(seed)
	rand.NewChaCha8(key).Read(b)
	return b
}

// rewrite4K overwrites 4 KiB of file at offset with seeded bytes and
// returns the file's new SHA-256.
func rewrite4K(t *testing.T, file string, offset int64, seed uint64) string {
	t.Helper()
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(seeded(seed, 4<<10), offset); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestSyncChunkedEdit: a 4 KiB edit inside a 4 MiB incompressible file
// travels as a chunk or two and a recipe (at most 64 KiB on the wire, the
// whole command under 128 KiB through the proxy), and a run sees exactly
// the new content, after a `ferry sync` and after a `ferry run` that
// uploads the next edit itself.
func TestSyncChunkedEdit(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	proxy := attachThroughProxy(t, c, "box")
	src := shortDir(t)
	writeTestTree(t, src, 20, 2<<10, 4<<20)
	testutil.WriteTree(t, src, testutil.Tree{"hashes.py": hashScript})
	big := filepath.Join(src, "big", "b0.bin")
	if _, err := os.Stat(big); err != nil {
		t.Fatalf("test tree has no big/b0.bin: %v", err)
	}
	if err := os.WriteFile(big, seeded(1, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if first := c.sync("box", src); first.UploadedBytes < 4<<20 {
		t.Fatalf("first sync: %+v, want the whole tree", first)
	}

	want := rewrite4K(t, big, 1<<20+123, 2)
	before := proxy.BytesUp()
	edit := c.sync("box", src)
	up := proxy.BytesUp() - before
	if edit.UploadedFiles != 1 || edit.ChunkedFiles != 1 || edit.WireBytes > 64<<10 || edit.UploadedBytes > 64<<10 {
		t.Errorf("sync of a 4 KiB edit: %+v, want 1 chunked file, <= 64 KiB", edit)
	}
	if up > 128<<10 {
		t.Errorf("sync of a 4 KiB edit sent %d bytes through the proxy, want <= 128 KiB", up)
	}
	t.Logf("4 KiB edit: wire %d bytes, uploaded %d, through the proxy %d", edit.WireBytes, edit.UploadedBytes, up)
	if got := remoteHashes(t, c, "box", src); got["big/b0.bin"] != want {
		t.Errorf("run after sync sees big/b0.bin as %.12s, want %.12s", got["big/b0.bin"], want)
	}

	want = rewrite4K(t, big, 3<<20, 3)
	before = proxy.BytesUp()
	got := remoteHashes(t, c, "box", src)
	if got["big/b0.bin"] != want {
		t.Errorf("run after an edit sees big/b0.bin as %.12s, want %.12s", got["big/b0.bin"], want)
	}
	if up := proxy.BytesUp() - before; up > 256<<10 {
		t.Errorf("ferry run after a 4 KiB edit sent %d bytes, want well under the file's 4 MiB", up)
	}
}
