package snapshot

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// takeBenchTree returns the tree to benchmark: $FERRY_BENCH_TREE (for example
// .bench/tree from bench/snapshot.sh, the standard 10,020-file tree), or a
// generated tree of 2,000 files of 4 KiB and 2 of 8 MiB.
func takeBenchTree(b *testing.B) string {
	b.Helper()
	if dir := os.Getenv("FERRY_BENCH_TREE"); dir != "" {
		return dir
	}
	root := b.TempDir()
	small := make([]byte, 4<<10)
	for i := range 2000 {
		p := filepath.Join(root, fmt.Sprintf("d%02d/f%04d.py", i%20, i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		small[0] = byte(i)
		if err := os.WriteFile(p, small, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 2 {
		if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("big%d", i)), make([]byte, 8<<20), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return root
}

// BenchmarkTakeWarm is the no-change case: every file comes from the stat
// cache (the racy window is shrunk to 0 so fresh files count as old).
func BenchmarkTakeWarm(b *testing.B) {
	root, cache := takeBenchTree(b), b.TempDir()
	opts := Options{CacheDir: cache}
	take := func() Stats {
		m, st := walkAndTake(b, root, opts)
		m.ID()
		return st
	}
	take()
	b.ResetTimer()
	for b.Loop() {
		if st := take(); st.Hashed != 0 {
			b.Fatalf("warm run hashed %d files", st.Hashed)
		}
	}
}

// BenchmarkTakeCold hashes every file (no stat cache; files in page cache).
func BenchmarkTakeCold(b *testing.B) {
	root := takeBenchTree(b)
	var bytes int64
	for b.Loop() {
		m, _, err := Take(b.Context(), root, Options{})
		if err != nil {
			b.Fatal(err)
		}
		bytes = m.Bytes()
	}
	b.SetBytes(bytes)
}
