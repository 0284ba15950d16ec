package executor

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkMaterializeLinksVsCopies measures, side by side on the
// standard tree, a run tree of hardlinks (a non-root executor), of
// copies (a root executor, on a file system without reflinks), and a
// root run that takes the spare tree of copies built after the last run.
//
//	go test -run '^$' -bench MaterializeLinksVsCopies -benchtime 3x ./executor/
func BenchmarkMaterializeLinksVsCopies(b *testing.B) {
	dir := b.TempDir()
	s := newTestStore(b, dir)
	files, packs := standardTree(b, dir)
	m, _ := manifestOf(b, files)
	if _, err := s.Ingest(b.Context(), packs); err != nil {
		b.Fatal(err)
	}
	id, err := putManifest(b, s, m)
	if err != nil {
		b.Fatal(err)
	}
	cold := func(copies bool) time.Duration {
		s.copyTrees = copies
		work := filepath.Join(b.TempDir(), "work")
		if err := os.Mkdir(work, 0o755); err != nil {
			b.Fatal(err)
		}
		root, err := os.OpenRoot(work)
		if err != nil {
			b.Fatal(err)
		}
		defer root.Close()
		start := time.Now()
		if err := s.materialize(b.Context(), m, root); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	for range b.N {
		link, cp := cold(false), cold(true)
		s.copyTrees = true
		if err := s.buildSpare(m); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := s.Materialize(b.Context(), id, filepath.Join(b.TempDir(), "w")); err != nil {
			b.Fatal(err)
		}
		spare := time.Since(start)
		s.waitSpare()
		b.ReportMetric(link.Seconds(), "links-s")
		b.ReportMetric(cp.Seconds(), "copies-s")
		b.ReportMetric(spare.Seconds(), "copies-from-spare-s")
		b.Logf("standard tree: links %v, copies %v (x%.1f), copies taken from the spare tree %v",
			link, cp, cp.Seconds()/link.Seconds(), spare)
	}
}
