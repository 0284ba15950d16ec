package executor

import (
	"crypto/sha256"
	"fmt"
	"testing"
)

// Ingested blobs are present at once but enter the index (trusted without
// re-hashing) only when makeDurable runs, before a manifest is stored.
func TestIngestIndexesBlobsOnlyOnceDurable(t *testing.T) {
	for _, n := range []int{1, fewFiles + 4} { // fsync path, syncfs path
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			dir := t.TempDir()
			s := newTestStore(t, dir)
			var files []testFile
			for i := range n {
				files = append(files, testFile{fmt.Sprintf("f%02d", i), 0o644, fmt.Sprintf("content %d", i)})
			}
			m, blobs := manifestOf(t, files)
			if _, err := s.Ingest(t.Context(), []string{writePack(t, dir, "p", blobs)}); err != nil {
				t.Fatal(err)
			}
			first := sha256.Sum256(blobs[0])
			if _, ok := s.idx.lookup(first); ok {
				t.Fatal("blob indexed before it was made durable")
			}
			missing, err := s.Missing(t.Context(), ids(blobs), false)
			if err != nil || len(missing) != 0 {
				t.Fatalf("Missing = %v, %v; want none", missing, err)
			}
			if _, ok := s.idx.lookup(first); ok {
				t.Fatal("Missing indexed a blob that is not durable yet")
			}
			if _, err := putManifest(t, s, m); err != nil {
				t.Fatal(err)
			}
			for _, b := range blobs {
				if _, ok := s.idx.lookup(sha256.Sum256(b)); !ok {
					t.Fatalf("blob %x not indexed after the manifest was stored", b[:4])
				}
			}
			if _, ok := s.pendingStat(first); ok {
				t.Fatal("blob still pending after makeDurable")
			}
		})
	}
}
