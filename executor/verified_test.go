package executor

import (
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/ferry-ml/ferry/snapshot"
)

// putDelta stores m as a delta against base.
func putDelta(t *testing.T, s *Store, base, m *snapshot.Manifest) error {
	t.Helper()
	data, err := snapshot.NewDelta(base, m).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.PutSnapshotDelta(t.Context(), m.ID().String(), base.ID().String(), data)
	return err
}

// TestPutSnapshotDeltaChecksNewBlobs: a delta against a base stored (all
// blobs checked) in this daemon needs its new blobs present; once the store
// removed a corrupt blob, every blob is checked again, so a base blob gone
// is caught.
func TestPutSnapshotDeltaChecksNewBlobs(t *testing.T) {
	dir := t.TempDir()
	s := newTestStore(t, dir)
	base, blobs := manifestOf(t, sampleTree)
	if _, err := s.Ingest(t.Context(), []string{writePack(t, dir, "p", blobs)}); err != nil {
		t.Fatal(err)
	}
	if _, err := putManifest(t, s, base); err != nil {
		t.Fatal(err)
	}
	next, _ := manifestOf(t, append(slices.Clone(sampleTree), testFile{"new.py", 0o644, "print(2)\n"}))
	var mb *MissingBlobsError
	if err := putDelta(t, s, base, next); !errors.As(err, &mb) || len(mb.Missing) != 1 {
		t.Fatalf("delta with its new blob missing: %v, want MissingBlobsError naming one blob", err)
	}
	if _, err := s.Ingest(t.Context(), []string{writePack(t, dir, "p2", [][]byte{[]byte("print(2)\n")})}); err != nil {
		t.Fatal(err)
	}
	if err := putDelta(t, s, base, next); err != nil {
		t.Fatalf("delta with every blob present: %v", err)
	}

	// Damage a base blob; the daemon finds and removes it when asked.
	victim := hexID(blobs[1])
	p := s.blobPath(blobIDOf(t, victim))
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	if missing, err := s.Missing(t.Context(), []string{victim}, true); err != nil || len(missing) != 1 {
		t.Fatalf("Missing = %v, %v; want the damaged blob", missing, err)
	}
	third, _ := manifestOf(t, append(slices.Clone(sampleTree), testFile{"new.py", 0o644, "print(2)\n"}, testFile{"z", 0o644, ""}))
	if err := putDelta(t, s, base, third); !errors.As(err, &mb) || !slices.Contains(mb.Missing, victim) {
		t.Fatalf("delta after a blob was removed: %v, want MissingBlobsError naming %s", err, victim[:8])
	}
}

func blobIDOf(t *testing.T, hexID string) [32]byte {
	t.Helper()
	id, err := snapshot.ParseBlobID(hexID)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
