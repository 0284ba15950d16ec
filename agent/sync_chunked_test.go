package agent

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/cdc"
	"github.com/ferry-ml/ferry/snapshot"
)

func listOf(t *testing.T, b []byte) []byte {
	t.Helper()
	cs, err := cdc.All(bytes.NewReader(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	l := make(api.ChunkList, len(cs))
	for i, c := range cs {
		l[i] = api.ChunkRef{ID: c.ID, Size: int64(c.Size)}
	}
	enc, _ := l.MarshalBinary()
	return enc
}

// build replays a recipe as the executor does, from old and the delta's chunks.
func build(t *testing.T, d *delta, old, file []byte) []byte {
	t.Helper()
	r, err := api.ReadRecipe(bytes.NewReader(d.recipe))
	if err != nil {
		t.Fatal(err)
	}
	sent := map[[32]byte][]byte{}
	for _, c := range d.chunks {
		sent[c.ID] = file[c.Offset : c.Offset+int64(c.Size)]
	}
	var out []byte
	for _, op := range r.Ops {
		if op.Chunk == nil {
			out = append(out, old[op.Offset:op.Offset+op.Size]...)
		} else {
			out = append(out, sent[*op.Chunk]...)
		}
	}
	return out
}

// editedFile writes root/f.bin: 3 MiB of seeded content (the same chunk
// boundaries, so the same delta size, in every run: over random content a
// 4 KiB edit's new chunks reach 73 KiB now and then, internal/cdc) with 4
// KiB rewritten at offset at. It returns the old content, the new, the
// new file's entry and the old blob's id.
func editedFile(t *testing.T, root string, at int, seed byte) (old, file []byte, e snapshot.Entry, base string) {
	t.Helper()
	old = make([]byte, 3<<20)
	mrand.NewChaCha8([32]byte{1}).Read(old)
	file = bytes.Clone(old)
	mrand.NewChaCha8([32]byte{seed}).Read(file[at : at+4096])
	if err := os.WriteFile(filepath.Join(root, "f.bin"), file, 0o644); err != nil {
		t.Fatal(err)
	}
	e = snapshot.Entry{Path: "f.bin", Mode: 0o644, Size: int64(len(file)), Blob: sha256.Sum256(file)}
	return old, file, e, snapshot.BlobID(sha256.Sum256(old)).String()
}

func TestMakeDelta(t *testing.T) {
	root := t.TempDir()
	old, file, e, base := editedFile(t, root, 2<<20, 2)

	d, err := makeDelta(root, e, nil, base, listOf(t, old))
	if err != nil || d == nil {
		t.Fatalf("makeDelta: %v, %v", d, err)
	}
	if got := build(t, d, old, file); !bytes.Equal(got, file) {
		t.Fatal("the recipe does not rebuild the file")
	}
	if d.bytes() > 64<<10 {
		t.Errorf("delta of a 4 KiB edit is %d bytes", d.bytes())
	}
	t.Logf("delta of a 4 KiB edit: %d bytes", d.bytes())
	if r, _ := api.ReadRecipe(bytes.NewReader(d.recipe)); len(r.Ops) > 2*len(d.chunks)+1 {
		t.Errorf("%d ops for %d new chunks: adjacent ranges not merged", len(r.Ops), len(d.chunks))
	}

	other := make([]byte, 3<<20)
	rand.Read(other)
	if d, err := makeDelta(root, e, nil, base, listOf(t, other)); err != nil || d != nil {
		t.Errorf("delta against unrelated content: %v, %v; want none (send whole)", d, err)
	}
	e.Blob[0] ^= 1 // the file is no longer what the snapshot recorded
	if _, err := makeDelta(root, e, nil, base, listOf(t, old)); err == nil {
		t.Error("makeDelta of a file changed since the snapshot succeeded")
	}
}

// A large file rewritten from scratch is given up on after giveUpAfter
// bytes: the rest is not read (a changed blob id shows it: the hash check
// at the end would fail).
func TestMakeDeltaGivesUpOnRewrittenFile(t *testing.T) {
	root := t.TempDir()
	old, file := make([]byte, giveUpAfter+(2<<20)), make([]byte, giveUpAfter+(2<<20))
	rand.Read(old)
	rand.Read(file)
	if err := os.WriteFile(filepath.Join(root, "ckpt.pt"), file, 0o644); err != nil {
		t.Fatal(err)
	}
	e := snapshot.Entry{Path: "ckpt.pt", Mode: 0o644, Size: int64(len(file)), Blob: snapshot.BlobID{1}}
	d, err := makeDelta(root, e, nil, snapshot.BlobID(sha256.Sum256(old)).String(), listOf(t, old))
	if d != nil || err != nil {
		t.Fatalf("rewritten file: delta %v, err %v; want neither (given up before the end)", d != nil, err)
	}
}

// Chunks the snapshot cut while hashing give the same delta as chunking
// the file, without reading it (it is gone here).
func TestMakeDeltaFromKnownChunks(t *testing.T) {
	root := t.TempDir()
	old, file, e, base := editedFile(t, root, 1<<20, 3)
	want, err := makeDelta(root, e, nil, base, listOf(t, old))
	if err != nil || want == nil {
		t.Fatalf("makeDelta from the file: %v, %v", want, err)
	}
	known, err := cdc.All(bytes.NewReader(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "f.bin")); err != nil {
		t.Fatal(err)
	}
	got, err := makeDelta(root, e, known, base, listOf(t, old))
	if err != nil || got == nil {
		t.Fatalf("makeDelta from known chunks: %v, %v", got, err)
	}
	if !bytes.Equal(got.recipe, want.recipe) || len(got.chunks) != len(want.chunks) {
		t.Fatalf("known chunks gave another delta: recipe equal %v, %d chunks, want %d",
			bytes.Equal(got.recipe, want.recipe), len(got.chunks), len(want.chunks))
	}
}

// similarBlobs pairs each large changed file with its old blob, and only
// those: not small files, not symlinks, not paths new to base.
func TestSimilarBlobs(t *testing.T) {
	ent := func(p string, size int64, b byte) snapshot.Entry {
		return snapshot.Entry{Path: p, Mode: 0o644, Size: size, Blob: snapshot.BlobID{b}}
	}
	link := snapshot.Entry{Path: "l", Mode: os.ModeSymlink | 0o777, Size: 1, Blob: snapshot.BlobID{9}, Link: "x"}
	base := &snapshot.Manifest{Entries: []snapshot.Entry{ent("a.bin", 2<<20, 1), ent("b.py", 100, 2), ent("c.bin", 3<<20, 3), link}}
	changed := []snapshot.Entry{ent("a.bin", 2<<20, 11), ent("b.py", 2<<20, 12), ent("c.bin", 100, 13), ent("d.bin", 2<<20, 14)}
	got := similarBlobs(base, changed)
	want := map[string]string{snapshot.BlobID{11}.String(): snapshot.BlobID{1}.String()}
	if len(got) != len(want) || got[snapshot.BlobID{11}.String()] != want[snapshot.BlobID{11}.String()] {
		t.Fatalf("similarBlobs = %v, want only a.bin paired with its old blob", got)
	}
}
