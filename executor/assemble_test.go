package executor

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/cdc"
)

// record is one pack record: body is what travels, id what it claims.
type record struct {
	id   [32]byte
	body []byte
}

func rec(b []byte) record { return record{sha256.Sum256(b), b} }

func streamPack(t testing.TB, s *Store, recs []record, assemble ...string) api.IngestResponse {
	t.Helper()
	var buf bytes.Buffer
	w, err := api.NewPackWriterCompressed(&buf, api.CompressFast)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Add(r.id, bytes.NewReader(r.body), int64(len(r.body))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	resp, err := s.IngestStream(t.Context(), &buf, assemble)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func randomFile(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// edited returns old with 4 KiB rewritten at 1 MiB.
func edited(old []byte) []byte {
	b := bytes.Clone(old)
	copy(b[1<<20:], randomFile(99, 4<<10))
	return b
}

// deltaOf is what the agent sends for new given old's chunk list: the
// recipe (as a record) and the chunks old lacks.
func deltaOf(t testing.TB, old api.ChunkList, oldID [32]byte, file []byte) (record, []record) {
	t.Helper()
	at := map[[32]byte]int64{}
	var off int64
	for _, c := range old {
		at[c.ID] = off
		off += c.Size
	}
	chunks, err := cdc.All(bytes.NewReader(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := api.Recipe{File: sha256.Sum256(file), Size: int64(len(file)), Base: oldID}
	var lits []record
	for _, c := range chunks {
		if o, ok := at[c.ID]; ok {
			if n := len(r.Ops); n > 0 && r.Ops[n-1].Chunk == nil && r.Ops[n-1].Offset+r.Ops[n-1].Size == o {
				r.Ops[n-1].Size += int64(c.Size) // adjacent ranges merged, as the agent does
			} else {
				r.Ops = append(r.Ops, api.RecipeOp{Offset: o, Size: int64(c.Size)})
			}
			continue
		}
		id := c.ID
		r.Ops = append(r.Ops, api.RecipeOp{Chunk: &id, Size: int64(c.Size)})
		lits = append(lits, rec(file[c.Offset:c.Offset+int64(c.Size)]))
	}
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return rec(b), lits
}

// planChunksFor stores old, plans new as similar to it and returns old's
// chunk list from the answer.
func planChunksFor(t testing.TB, s *Store, old, file []byte) api.ChunkList {
	t.Helper()
	streamPack(t, s, []record{rec(old)})
	req := api.PlanRequest{Snapshot: hexID([]byte("no such snapshot")), Blobs: []string{hexID(file)},
		Similar: map[string]string{hexID(file): hexID(old)}}
	resp, err := s.Plan(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Missing) != 1 || resp.Chunks[hexID(old)] == nil {
		t.Fatalf("plan: missing %v, chunk lists for %d blobs; want the new blob missing and old's list", resp.Missing, len(resp.Chunks))
	}
	list, err := api.ParseChunkList(resp.Chunks[hexID(old)])
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// TestAssembleEditedFile sends a 4 KiB edit of a 2 MiB file as chunks and
// a recipe: little travels, the built blob is exact, and a run directory
// gets it as a hardlink like any blob.
func TestAssembleEditedFile(t *testing.T) {
	dir := t.TempDir()
	s := newTestStore(t, dir)
	old := randomFile(1, 2<<20)
	file := edited(old)
	list := planChunksFor(t, s, old, file)
	recipe, lits := deltaOf(t, list, sha256.Sum256(old), file)
	sent := len(recipe.body)
	for _, l := range lits {
		sent += len(l.body)
	}
	if sent > 64<<10 {
		t.Errorf("delta of a 4 KiB edit is %d bytes, want <= 64 KiB", sent)
	}
	resp := streamPack(t, s, append(lits, recipe), hexID(recipe.body))
	if resp.Assembled != 1 || len(resp.AssembleFailed) != 0 {
		t.Fatalf("assemble: %+v", resp)
	}
	got, err := os.ReadFile(s.blobPath(sha256.Sum256(file)))
	if err != nil || !bytes.Equal(got, file) {
		t.Fatalf("built blob differs from the file (%v)", err)
	}
	checkCachedList(t, dir, file)
	m, _ := manifestOf(t, []testFile{{"data/train.csv", 0o644, string(file)}})
	id, err := putManifest(t, s, m)
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	if err := s.Materialize(t.Context(), id, run); err != nil {
		t.Fatal(err)
	}
	fi, err1 := os.Stat(filepath.Join(run, "data/train.csv"))
	bi, err2 := os.Stat(s.blobPath(sha256.Sum256(file)))
	if err1 != nil || err2 != nil || (!s.copyTrees && !os.SameFile(fi, bi)) {
		t.Errorf("run file is not the blob's hardlink (%v, %v)", err1, err2)
	}
	if left := tmpFiles(t, dir); len(left) != 0 {
		t.Errorf("left in tmp/: %v", left)
	}
}

// TestAssembleRefusesBadParts: a chunk whose body does not match its id,
// a chunk damaged on disk after it was stored, and a recipe whose result
// is not its file: each is refused, and no file blob is stored.
func TestAssembleRefusesBadParts(t *testing.T) {
	old := randomFile(2, 2<<20)
	file := edited(old)
	cases := map[string]func(t *testing.T, s *Store, recipe record, lits []record) record{
		"chunk damaged in the pack": func(t *testing.T, s *Store, recipe record, lits []record) record {
			lits[0].body = bytes.Clone(lits[0].body)
			lits[0].body[7] ^= 1
			resp := streamPack(t, s, append(lits, recipe), hexID(recipe.body))
			if len(resp.Rejected) != 1 {
				t.Errorf("damaged chunk not rejected: %+v", resp)
			}
			return recipe
		},
		"chunk damaged on disk": func(t *testing.T, s *Store, recipe record, lits []record) record {
			streamPack(t, s, lits)
			damage(t, s.blobPath(lits[0].id))
			return recipe
		},
		"recipe building another file": func(t *testing.T, s *Store, recipe record, lits []record) record {
			r, err := api.ReadRecipe(bytes.NewReader(recipe.body))
			if err != nil {
				t.Fatal(err)
			}
			r.Ops[0], r.Ops[1] = r.Ops[1], r.Ops[0] // same bytes, other order
			b, _ := r.MarshalBinary()
			streamPack(t, s, lits)
			return rec(b)
		},
	}
	for name, prepare := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := newTestStore(t, dir)
			list := planChunksFor(t, s, old, file)
			recipe, lits := deltaOf(t, list, sha256.Sum256(old), file)
			recipe = prepare(t, s, recipe, lits)
			resp := streamPack(t, s, []record{recipe}, hexID(recipe.body))
			if resp.Assembled != 0 || !slices.Equal(resp.AssembleFailed, []string{hexID(recipe.body)}) {
				t.Errorf("bad recipe assembled: %+v", resp)
			}
			if missing, err := s.Missing(t.Context(), []string{hexID(file)}, true); err != nil || len(missing) != 1 {
				t.Errorf("file blob stored from bad parts (missing %v, %v)", missing, err)
			}
			if left := tmpFiles(t, dir); len(left) != 0 {
				t.Errorf("left in tmp/: %v", left)
			}
		})
	}
}

// damage rewrites a stored blob in place with other bytes of its size.
func damage(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o444); err != nil {
		t.Fatal(err)
	}
}

// checkCachedList: the chunk list cached for a built file (derived from
// the recipe, without reading the file) is the file's own.
func checkCachedList(t *testing.T, dir string, file []byte) {
	t.Helper()
	enc, err := os.ReadFile(filepath.Join(dir, ChunksDir, hexID(file)))
	if err != nil {
		t.Fatalf("no chunk list cached for the built file: %v", err)
	}
	got, err := api.ParseChunkList(enc)
	if err != nil {
		t.Fatal(err)
	}
	want, err := cdc.All(bytes.NewReader(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("cached list has %d chunks, the file %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Size != int64(want[i].Size) {
			t.Fatalf("cached list differs at chunk %d", i)
		}
	}
}

// TestAssembleCutStream: a delta pack cut mid-stream keeps the chunks
// that arrived whole, builds nothing, and leaves no temp file.
func TestAssembleCutStream(t *testing.T) {
	dir := t.TempDir()
	s := newTestStore(t, dir)
	old := randomFile(3, 2<<20)
	file := edited(old)
	file[1<<19] ^= 1 // a second changed chunk, so one arrives whole before the cut
	recipe, lits := deltaOf(t, planChunksFor(t, s, old, file), sha256.Sum256(old), file)
	if len(lits) < 2 {
		t.Fatalf("want two new chunks, have %d", len(lits))
	}
	var buf bytes.Buffer
	w, err := api.NewPackWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range append(lits, recipe) {
		if err := w.Add(r.id, bytes.NewReader(r.body), int64(len(r.body))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// magic, the first record whole, then the second's header and 100 bytes
	cut := io.MultiReader(bytes.NewReader(buf.Bytes()[:8+2*35+len(lits[0].body)+100]), errReader{io.ErrUnexpectedEOF})
	if _, err := s.IngestStream(t.Context(), cut, []string{hexID(recipe.body)}); err == nil {
		t.Fatal("a cut delta pack was accepted")
	}
	missing, err := s.Missing(t.Context(), []string{hexID(lits[0].body), hexID(lits[1].body), hexID(file)}, true)
	if err != nil || !slices.Equal(missing, []string{hexID(lits[1].body), hexID(file)}) {
		t.Errorf("after the cut, missing %v (%v); want the cut chunk and the file", missing, err)
	}
	if left := tmpFiles(t, dir); len(left) != 0 {
		t.Errorf("left in tmp/: %v", left)
	}
}

// TestCommitFromBlob: a manifest that travelled in a pack is stored like a
// PUT body once its blobs are here, and refused while one is missing.
func TestCommitFromBlob(t *testing.T) {
	s := newTestStore(t, t.TempDir())
	m, blobs := manifestOf(t, sampleTree)
	data, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	recs := []record{rec(data)}
	for _, b := range blobs[1:] {
		recs = append(recs, rec(b))
	}
	streamPack(t, s, recs)
	if _, err := s.CommitFromBlob(t.Context(), m.ID().String(), "", hexID(data)); err == nil {
		t.Fatal("snapshot stored with a blob missing")
	}
	if _, err := s.Snapshot(m.ID().String()); err == nil {
		t.Fatal("a refused snapshot is stored")
	}
	streamPack(t, s, []record{rec(blobs[0])})
	resp, err := s.CommitFromBlob(t.Context(), m.ID().String(), "", hexID(data))
	if err != nil || resp.ID != m.ID().String() {
		t.Fatalf("commit: %+v, %v", resp, err)
	}
	if _, err := s.Manifest(m.ID().String()); err != nil {
		t.Fatalf("stored snapshot unreadable: %v", err)
	}
	if _, err := s.CommitFromBlob(t.Context(), m.ID().String(), "", hexID([]byte("absent"))); err == nil {
		t.Fatal("commit from an absent manifest blob succeeded")
	}
}

// BenchmarkAssemble4MiB builds a 4 MiB file from its old version and a
// 4 KiB edit's chunks (the stream's ingest included, the agent's part not).
func BenchmarkAssemble4MiB(b *testing.B) {
	s := newTestStore(b, b.TempDir())
	old := randomFile(1, 4<<20)
	list := planChunksFor(b, s, old, edited(old))
	oldID := sha256.Sum256(old)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		file := bytes.Clone(old)
		copy(file[(i%900+8)*4096:], randomFile(uint64(i)+100, 4<<10))
		recipe, lits := deltaOf(b, list, oldID, file)
		b.StartTimer()
		if resp := streamPack(b, s, append(lits, recipe), hexID(recipe.body)); resp.Assembled != 1 {
			b.Fatalf("assemble: %+v", resp)
		}
	}
}
