package executor

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// TestRootRunCannotRewriteStore: as root, 0444 stops nothing. A run that
// writes to a snapshot file must change neither the stored blob nor what
// a concurrent run or the spare tree sees.
func TestRootRunCannotRewriteStore(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.SkipOrFail(t, "the write needs root (0444 stops everyone else)")
	}
	s := newTestStore(t, t.TempDir())
	id := storeTree(t, s, sampleTree)
	work := t.TempDir()
	one, two := filepath.Join(work, "1"), filepath.Join(work, "2")
	for _, d := range []string{one, two} {
		if err := s.Materialize(t.Context(), id, d); err != nil {
			t.Fatal(err)
		}
	}
	s.waitSpare()
	before := readTree(t, two)
	if err := os.WriteFile(filepath.Join(one, "data/a.csv"), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if after := readTree(t, two); !equalTrees(before, after) {
		t.Fatalf("a concurrent run's tree changed:\nbefore %v\nafter  %v", before, after)
	}
	three := filepath.Join(work, "3") // from the spare tree
	if err := s.Materialize(t.Context(), id, three); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, three); !equalTrees(before, got) {
		t.Fatalf("the next run's tree differs:\nwant %v\ngot  %v", before, got)
	}
	_, blobs := manifestOf(t, sampleTree)
	if missing, err := s.Missing(t.Context(), ids(blobs), true); err != nil || len(missing) != 0 {
		t.Fatalf("stored blobs changed: %d differ, %v", len(missing), err)
	}
}
