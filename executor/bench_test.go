package executor

import (
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// standardTree is the design's benchmark tree: 10,000 x 4 KiB + 20 x 8 MiB,
// as packs of about 8 MiB (small files) and one pack per large file.
func standardTree(b *testing.B, dir string) ([]testFile, []string) {
	b.Helper()
	var files []testFile
	var packs []string
	var batch [][]byte
	flush := func() {
		if len(batch) > 0 {
			packs = append(packs, writePack(b, dir, fmt.Sprintf("p%04d", len(packs)), batch))
			batch = nil
		}
	}
	add := func(path string, size int) {
		data := make([]byte, size)
		rand.Read(data)
		files = append(files, testFile{path, 0o644, string(data)})
		batch = append(batch, data)
	}
	for i := range 10000 {
		add(fmt.Sprintf("src/d%03d/f%05d.py", i%100, i), 4096)
		if len(batch) == 2048 {
			flush()
		}
	}
	flush()
	for i := range 20 {
		add(fmt.Sprintf("data/big%02d.bin", i), 8<<20)
		flush()
	}
	return files, packs
}

func BenchmarkIngestAndMaterializeStandardTree(b *testing.B) {
	for range b.N {
		dir := b.TempDir()
		s := newTestStore(b, dir)
		files, packs := standardTree(b, dir)
		m, _ := manifestOf(b, files)
		start := time.Now()
		resp, err := s.Ingest(b.Context(), packs)
		if err != nil {
			b.Fatal(err)
		}
		ingest := time.Since(start)
		start = time.Now()
		id, err := putManifest(b, s, m)
		if err != nil {
			b.Fatal(err)
		}
		put := time.Since(start)
		start = time.Now()
		if err := s.Materialize(b.Context(), id, filepath.Join(b.TempDir(), "work")); err != nil {
			b.Fatal(err)
		}
		mat := time.Since(start)
		all := ids(blobsOf(files))
		start = time.Now()
		if _, err := s.Missing(b.Context(), all, false); err != nil {
			b.Fatal(err)
		}
		missing := time.Since(start)
		b.ReportMetric(ingest.Seconds(), "ingest-s")
		b.ReportMetric(put.Seconds(), "put-s")
		b.ReportMetric(mat.Seconds(), "materialize-s")
		b.ReportMetric(missing.Seconds(), "missing-s")
		b.Logf("%d blobs %d MB in %d packs: ingest %v, put manifest %v, materialize %v, missing %v",
			resp.Blobs, resp.Bytes>>20, len(packs), ingest, put, mat, missing)
	}
}

func blobsOf(files []testFile) [][]byte {
	out := make([][]byte, len(files))
	for i, f := range files {
		out[i] = []byte(f.data)
	}
	return out
}
