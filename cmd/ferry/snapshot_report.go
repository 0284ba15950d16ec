package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ferry-ml/ferry/internal/units"
	"github.com/ferry-ml/ferry/snapshot"
)

// The report printed with the big-snapshot warning, and in --json: the
// largest files and the directories holding the most files.

type snapshotLargeFile struct {
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
}

type snapshotLargeDir struct {
	Path  string `json:"path"`
	Files int    `json:"files"`
}

// largestEntries returns the n biggest entries, biggest first (ties in
// path order). One pass keeping the n best: no sort of the whole tree.
func largestEntries(m *snapshot.Manifest, n int) []snapshotLargeFile {
	top := make([]snapshotLargeFile, 0, n+1)
	for _, e := range m.Entries {
		if len(top) == n && (n == 0 || e.Size <= top[n-1].Bytes) {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, e.Size, func(t snapshotLargeFile, size int64) int {
			return cmp.Compare(size, t.Bytes) // biggest first; equal sizes keep path order
		})
		for i < len(top) && top[i].Bytes == e.Size {
			i++
		}
		top = slices.Insert(top, i, snapshotLargeFile{e.Path, e.Size})
		if len(top) > n {
			top = top[:n]
		}
	}
	return top
}

// largestDirs returns the n directories holding the most files (counting
// subdirectories), most first, ties in path order. The entries are sorted
// by path, so each directory's files are contiguous: one pass with a stack
// of the open directories counts them.
func largestDirs(m *snapshot.Manifest, n int) []snapshotLargeDir {
	var top []snapshotLargeDir
	keep := func(d snapshotLargeDir) {
		i, _ := slices.BinarySearchFunc(top, d, func(t, d snapshotLargeDir) int {
			return cmp.Or(cmp.Compare(d.Files, t.Files), strings.Compare(t.Path, d.Path))
		})
		if i < n {
			top = slices.Insert(top, i, d)[:min(len(top)+1, n)]
		}
	}
	var open []snapshotLargeDir // the directories of the last path, outermost first
	for _, e := range m.Entries {
		depth := 0
		for i := strings.IndexByte(e.Path, '/'); i >= 0; i = nextSlash(e.Path, i) {
			dir := e.Path[:i]
			if depth < len(open) && open[depth].Path != dir {
				closeDirs(&open, depth, keep)
			}
			if depth == len(open) {
				open = append(open, snapshotLargeDir{Path: dir})
			}
			open[depth].Files++
			depth++
		}
		closeDirs(&open, depth, keep)
	}
	closeDirs(&open, 0, keep)
	return top
}

// closeDirs hands the directories of open from depth on to keep, innermost
// first, and drops them.
func closeDirs(open *[]snapshotLargeDir, depth int, keep func(snapshotLargeDir)) {
	for j := len(*open) - 1; j >= depth; j-- {
		keep((*open)[j])
	}
	*open = (*open)[:depth]
}

// nextSlash returns the index of the next "/" in p after i, or -1.
func nextSlash(p string, i int) int {
	j := strings.IndexByte(p[i+1:], '/')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

func largestReport(m *snapshot.Manifest) string {
	var b strings.Builder
	b.WriteString("largest files:\n")
	for _, e := range largestEntries(m, snapshotTopN) {
		fmt.Fprintf(&b, "  %10s  %s\n", units.Bytes(e.Bytes), e.Path)
	}
	b.WriteString("directories with the most files:\n")
	for _, d := range largestDirs(m, snapshotTopDirs) {
		fmt.Fprintf(&b, "  %10d  %s/\n", d.Files, d.Path)
	}
	return b.String()
}
