// Command gentree writes the standard benchmark tree, deterministically:
// 10,000 files of 4 KiB in 100 folders, 20 files of 8 MiB, a .gitignore,
// and files that the .gitignore excludes (*.pyc files, __pycache__/ and
// logs/ directories) so that ignoring is exercised. The included part is
// 10,021 files (with the .gitignore), about 209 MB.
//
// With -project it writes the realistic ML project tree instead (see
// project.go).
//
// Usage: go run ./bench/gentree [-project] DIR
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

const (
	smallDirs     = 100
	smallPerDir   = 100
	smallSize     = 4 << 10
	largeFiles    = 20
	largeSize     = 8 << 20
	gitignore     = "*.pyc\n__pycache__/\n/logs/\n*.tmp\n!keep.tmp\n"
	ignoredPerDir = 3
)

func main() {
	project := flag.Bool("project", false, "write the realistic ML project tree")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gentree [-project] DIR")
		os.Exit(2)
	}
	gen := generate
	if *project {
		gen = generateProject
	}
	if err := gen(flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "gentree:", err)
		os.Exit(1)
	}
}

func generate(root string) error {
	rng := rand.New(rand.NewChaCha8([32]byte{'f', 'e', 'r', 'r', 'y'}))
	if err := write(root, ".gitignore", []byte(gitignore)); err != nil {
		return err
	}
	for d := range smallDirs {
		dir := fmt.Sprintf("src/pkg%02d", d)
		for f := range smallPerDir {
			if err := write(root, fmt.Sprintf("%s/mod%03d.py", dir, f), random(rng, smallSize)); err != nil {
				return err
			}
		}
		for f := range ignoredPerDir {
			if err := write(root, fmt.Sprintf("%s/mod%03d.pyc", dir, f), random(rng, 512)); err != nil {
				return err
			}
			if err := write(root, fmt.Sprintf("%s/__pycache__/mod%03d.cpython-312.pyc", dir, f), random(rng, 512)); err != nil {
				return err
			}
		}
	}
	for f := range largeFiles {
		if err := write(root, fmt.Sprintf("data/shard%02d.bin", f), random(rng, largeSize)); err != nil {
			return err
		}
	}
	for f := range 5 {
		if err := write(root, fmt.Sprintf("logs/run%d.log", f), random(rng, 4096)); err != nil {
			return err
		}
	}
	return write(root, "scratch.tmp", []byte("ignored\n"))
}

func random(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func write(root, rel string, data []byte) error {
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	return nil
}
