package snapshot

import (
	"cmp"
	"io/fs"
	"slices"
	"strings"
	"sync"
)

// planSplit is the tree size from which plan runs on two goroutines: each
// entry's stat key is read from memory the walk's goroutines wrote, mostly
// cache misses that two cores overlap.
const planSplit = 4096

// plan fills the entries from the stat cache and lists the rest as jobs.
func (t *take) plan(walked []WalkEntry) {
	n := len(walked)
	t.entries = make([]Entry, n)
	t.keys = make([]fileKey, n)
	t.gone = make([]bool, n)
	var halves [2]planned
	if n < planSplit {
		halves[0] = t.planRange(walked, 0, n)
	} else {
		var wg sync.WaitGroup
		wg.Go(func() { halves[1] = t.planRange(walked, n/2, n) })
		halves[0] = t.planRange(walked, 0, n/2)
		wg.Wait()
	}
	for _, h := range halves {
		t.stats.Cached += h.cached
		t.jobs = append(t.jobs, h.jobs...)
		for i := range h.chunk {
			if t.chunk == nil {
				t.chunk = map[int]bool{}
			}
			t.chunk[i] = true
		}
	}
	// Largest first, so that a big file never starts last on an idle pool.
	slices.SortStableFunc(t.jobs, func(a, b int) int {
		return cmp.Compare(t.keys[b].Size, t.keys[a].Size)
	})
}

// planned is what plan found in one range of the walk.
type planned struct {
	cached int
	jobs   []int        // indexes still to hash, in path order
	chunk  map[int]bool // of those, the ones to chunk as they are hashed
}

// planRange plans walked[lo:hi]; it writes only those indexes of t.
func (t *take) planRange(walked []WalkEntry, lo, hi int) planned {
	var p planned
	var cur cursor
	if t.cache != nil && lo < hi {
		cur.entries = t.cache.entries
		cur.i, _ = slices.BinarySearchFunc(cur.entries, walked[lo].Path, func(e cacheEntry, p string) int {
			return strings.Compare(e.path, p)
		})
	}
	for i := lo; i < hi; i++ {
		w := &walked[i]
		key := keyOf(w.Info)
		t.keys[i] = key
		t.entries[i].Path = w.Path
		if !key.Mode.IsRegular() && !isSymlink(key) {
			t.skip(i, "not a regular file or symlink")
			continue
		}
		ce := cur.find(w.Path)
		if ce != nil && ce.key == key && t.cache.trusted(key, t.racy) {
			t.entries[i] = Entry{Path: w.Path, Mode: key.Mode.Perm(), Size: key.Size, Blob: ce.blob}
			p.cached++
			continue
		}
		if ce != nil && ce.key != key && t.edited(key) {
			if p.chunk == nil {
				p.chunk = map[int]bool{}
			}
			p.chunk[i] = true
		}
		p.jobs = append(p.jobs, i)
	}
	return p
}

// edited reports whether a file the stat cache knew under another key is
// to be chunked as it is hashed (Options.ChunkMin).
func (t *take) edited(k fileKey) bool {
	return t.chunkMin > 0 && k.Mode.IsRegular() && k.Size >= t.chunkMin && k.Size <= t.chunkMax
}

func (t *take) skip(i int, reason string) {
	t.gone[i] = true
	if t.warn != nil {
		t.warn(t.entries[i].Path, reason)
	}
}

func isSymlink(k fileKey) bool { return k.Mode.Type() == fs.ModeSymlink }
