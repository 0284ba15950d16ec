package executor

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-ml/ferry/executor/api"
)

// TestIngestStreamKeepsWholeRecordsOnCut cuts a pack stream in the middle
// of its third record, as a lost link would: the two records that arrived
// whole are stored (the next sync need not send them), the cut one is not,
// and nothing is left in tmp/.
func TestIngestStreamKeepsWholeRecordsOnCut(t *testing.T) {
	dir := t.TempDir()
	s := newTestStore(t, dir)
	blobs := [][]byte{bytes.Repeat([]byte("a"), 1000), bytes.Repeat([]byte("b"), 1000), bytes.Repeat([]byte("c"), 100000)}
	var buf bytes.Buffer
	w, err := api.NewPackWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(blobs))
	for i, b := range blobs {
		id := sha256.Sum256(b)
		ids[i] = hexID(b)
		if err := w.Add(id, bytes.NewReader(b), int64(len(b))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cut := io.MultiReader(bytes.NewReader(buf.Bytes()[:buf.Len()-50000]), errReader{io.ErrUnexpectedEOF})
	if _, err := s.IngestStream(t.Context(), cut, nil); err == nil {
		t.Fatal("IngestStream of a cut stream succeeded")
	}
	missing, err := s.Missing(t.Context(), ids, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 || missing[0] != ids[2] {
		t.Errorf("missing after a cut stream = %v, want only the cut record %s", missing, ids[2][:8])
	}
	if left, _ := os.ReadDir(filepath.Join(dir, TmpDir)); len(left) != 0 {
		t.Errorf("left in tmp/: %v", left)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestPlanDamagedSnapshot damages one blob of a stored snapshot (same
// size, so only its hash tells): Plan must not report the snapshot as
// present, with or without a base, and must list the damaged blob.
func TestPlanDamagedSnapshot(t *testing.T) {
	s := newTestStore(t, t.TempDir())
	id := storeTree(t, s, sampleTree)
	if resp, err := s.Plan(t.Context(), api.PlanRequest{Snapshot: id, Base: id}); err != nil || !resp.HaveSnapshot {
		t.Fatalf("plan of an intact snapshot: %+v, %v", resp, err)
	}
	m, blobs := manifestOf(t, sampleTree)
	victim := blobs[0] // "print('hi')\n" of train.py
	p := s.blobPath(sha256.Sum256(victim))
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, bytes.Repeat([]byte("x"), len(victim)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o444); err != nil {
		t.Fatal(err)
	}
	resp, err := s.Plan(t.Context(), api.PlanRequest{Snapshot: id, Base: id, Blobs: []string{}})
	if err != nil || resp.HaveSnapshot || resp.HaveBase {
		t.Fatalf("plan with a base after damage: %+v, %v; want neither snapshot nor base", resp, err)
	}
	all := make([]string, 0, len(blobs))
	for _, b := range m.Blobs() {
		all = append(all, b.String())
	}
	resp, err = s.Plan(t.Context(), api.PlanRequest{Snapshot: id, Blobs: all})
	if err != nil || resp.HaveSnapshot || len(resp.Missing) != 1 || resp.Missing[0] != hexID(victim) {
		t.Fatalf("plan after damage: %+v, %v; want only %s missing", resp, err, hexID(victim)[:8])
	}
}
