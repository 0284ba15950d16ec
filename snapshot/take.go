package snapshot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-ml/ferry/internal/cdc"
	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/errgroup"
)

// Options tune Take.
type Options struct {
	// CacheDir holds the stat cache (the CLI passes $FERRY_HOME/cache/stat);
	// "" means no cache: every file is read.
	CacheDir string
	// Logger receives diagnostics; nil means none.
	Logger hclog.Logger
	// Warn is called for entries skipped with a warning (FIFOs, sockets,
	// devices). May be nil. It may be called from several goroutines.
	Warn func(path, reason string)
	// Workers bounds how many files are hashed at once; 0 means
	// runtime.GOMAXPROCS(0).
	Workers int
	// ChunkMin and ChunkMax: a regular file of ChunkMin to ChunkMax bytes
	// that the stat cache knew under another stat key (an edited file) is
	// also cut into content-defined chunks (internal/cdc) from the read
	// that hashes it; Manifest.Chunks returns them. ChunkMin 0: none.
	ChunkMin, ChunkMax int64
}

// Stats describe what Take did.
type Stats struct {
	Files       int           // entries in the manifest
	Bytes       int64         // their total size
	Hashed      int           // entries read and hashed (symlinks included)
	HashedBytes int64         // bytes read and hashed
	Cached      int           // files whose hash came from the stat cache
	Chunked     int           // edited files also cut into chunks (Options.ChunkMin)
	Duration    time.Duration // wall time of the whole Take
}

// Take snapshots root: it walks it (Walk), then hashes in parallel every
// file the stat cache cannot vouch for, and returns the manifest.
//
// A file that changes while it is read is read again (see hashPath). A file
// that vanishes between the walk and its hash is left out of the manifest
// (logged at debug level), as if the walk had run a moment later: the
// snapshot is of the tree as it is, and the next snapshot sees any new
// file. A file that cannot be read (EACCES) is an error naming it. A tree
// of more than MaxEntries files is refused (a *TooManyEntriesError) before
// any is hashed.
func Take(ctx context.Context, root string, opts Options) (*Manifest, Stats, error) {
	start := time.Now()
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, Stats{}, fmt.Errorf("resolve source %s: %w", root, err)
	}
	cache := preloadCache(opts.CacheDir, abs) // read and decoded while the walk runs
	walked, err := Walk(abs, WalkOptions{Warn: opts.Warn})
	if err != nil {
		return nil, Stats{}, err
	}
	if err := checkCount(int64(len(walked))); err != nil {
		return nil, Stats{}, fmt.Errorf("snapshot %s: %w", abs, err)
	}
	return takeWalked(ctx, abs, walked, opts, start, racyWindow, cache)
}

// loadedCache is a stat cache being loaded: the cache and the reason it
// was not usable, once done is closed.
type loadedCache struct {
	done  chan struct{}
	cache *statCache
	err   error
}

// preloadCache starts loading the stat cache of root from dir on a
// goroutine of its own; nil when dir is "" (no cache).
func preloadCache(dir, root string) *loadedCache {
	if dir == "" {
		return nil
	}
	l := &loadedCache{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.cache, l.err = loadStatCache(cacheFile(dir, root))
	}()
	return l
}

// takeWalked is Take after the walk: abs is the absolute root and walked
// its entries in path order; start is when the scan began (the stat cache's
// watermark) and racy the window before it in which a cached file is not
// trusted (tests shrink it rather than wait). cache is the stat cache
// preloaded during the walk; nil: takeWalked loads it (opts.CacheDir).
func takeWalked(ctx context.Context, abs string, walked []WalkEntry, opts Options, start time.Time, racy time.Duration, cache *loadedCache) (*Manifest, Stats, error) {
	log := opts.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	log = log.Named("snapshot")
	t := &take{abs: abs, log: log, warn: opts.Warn, racy: racy, chunkMin: opts.ChunkMin, chunkMax: opts.ChunkMax}
	cachePath := ""
	if opts.CacheDir != "" {
		cachePath = cacheFile(opts.CacheDir, abs)
		if cache == nil {
			cache = preloadCache(opts.CacheDir, abs)
		}
		t.useCache(cache)
	}
	t.plan(walked)
	if err := t.hashAll(ctx, opts.Workers); err != nil {
		return nil, Stats{}, err
	}
	m := t.manifest()
	if cachePath != "" && t.cacheDirty() {
		if err := t.newCache(start).save(cachePath); err != nil {
			log.Warn("cannot save stat cache", "path", cachePath, "error", err)
		}
	}
	t.stats.Files, t.stats.Bytes = m.Files(), m.Bytes()
	t.stats.Duration = time.Since(start)
	log.Debug("snapshot taken", "files", t.stats.Files, "hashed", t.stats.Hashed,
		"cached", t.stats.Cached, "chunked", t.stats.Chunked, "duration", t.stats.Duration)
	return m, t.stats, nil
}

// take is the state of one Take after the walk.
type take struct {
	abs   string
	log   hclog.Logger
	warn  func(path, reason string)
	cache *statCache
	racy  time.Duration

	chunkMin, chunkMax int64        // Options.ChunkMin, ChunkMax
	chunk              map[int]bool // results to chunk as they are hashed

	// One of each per walked entry, in path order: the manifest entry,
	// the stat key its content was read under, and whether it vanished
	// before it was hashed. entries becomes the manifest's own when
	// nothing vanished (no copy).
	entries []Entry
	keys    []fileKey
	gone    []bool
	chunks  map[int][]cdc.Chunk // chunks of the entries chunked (guarded by mu)
	mu      sync.Mutex
	jobs    []int // indexes of the entries still to hash
	stats   Stats

	hashedFiles atomic.Int64 // regular files hashed (the cache changes)
	hashed      atomic.Int64
	hashedBytes atomic.Int64
}

// useCache waits for the stat cache being loaded.
func (t *take) useCache(l *loadedCache) {
	<-l.done
	if l.err != nil {
		t.log.Debug("ignoring stat cache", "error", l.err)
	}
	t.cache = l.cache
}

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

// hashAll runs the jobs on a bounded errgroup: a fixed set of workers that
// pull job indexes from a shared counter (never a goroutine per file).
func (t *take) hashAll(ctx context.Context, workers int) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(t.jobs))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	var next atomic.Int64
	for range workers {
		g.Go(func() error { return t.worker(ctx, &next) })
	}
	err := g.Wait()
	t.stats.Hashed = int(t.hashed.Load())
	t.stats.HashedBytes = t.hashedBytes.Load()
	return err
}

func (t *take) worker(ctx context.Context, next *atomic.Int64) error {
	hs := hasherPool.Get().(*hasher)
	defer hasherPool.Put(hs)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := int(next.Add(1) - 1)
		if k >= len(t.jobs) {
			return nil
		}
		if err := t.hashOne(hs, t.jobs[k]); err != nil {
			return err
		}
	}
}

func (t *take) hashOne(hs *hasher, i int) error {
	path := t.entries[i].Path
	res, err := hs.hashPath(t.abs+string(filepath.Separator)+filepath.FromSlash(path), path, t.keys[i], t.chunk[i])
	if errors.Is(err, errVanished) {
		t.log.Debug("file vanished before it was hashed; leaving it out", "path", path)
		t.gone[i] = true
		return nil
	}
	if err != nil {
		return err
	}
	t.entries[i], t.keys[i] = res.entry, res.key
	if res.chunks != nil {
		t.mu.Lock()
		if t.chunks == nil {
			t.chunks = map[int][]cdc.Chunk{}
		}
		t.chunks[i] = res.chunks
		t.mu.Unlock()
	}
	t.hashed.Add(1)
	t.hashedBytes.Add(res.entry.Size)
	if !res.entry.IsSymlink() {
		t.hashedFiles.Add(1)
	}
	return nil
}

// manifest collects the entries that did not vanish: t.entries itself
// when none did.
func (t *take) manifest() *Manifest {
	entries := t.entries
	if slices.Contains(t.gone, true) {
		entries = make([]Entry, 0, len(t.entries))
		for i := range t.entries {
			if !t.gone[i] {
				entries = append(entries, t.entries[i])
			}
		}
	}
	var chunks map[BlobID][]cdc.Chunk
	for i, c := range t.chunks {
		if !t.gone[i] {
			if chunks == nil {
				chunks = map[BlobID][]cdc.Chunk{}
			}
			chunks[t.entries[i].Blob] = c
			t.stats.Chunked++
		}
	}
	return &Manifest{Entries: entries, chunks: chunks}
}

// cacheDirty reports whether the cache must be rewritten: a file was hashed,
// or a cached file is no longer there.
func (t *take) cacheDirty() bool {
	old := 0
	if t.cache != nil {
		old = len(t.cache.entries)
	}
	return t.hashedFiles.Load() > 0 || t.stats.Cached != old
}

// newCache builds the cache of this scan: every regular file with the key
// its content was read under.
func (t *take) newCache(start time.Time) *statCache {
	c := &statCache{watermark: start.UnixNano(), entries: make([]cacheEntry, 0, len(t.entries))}
	for i := range t.entries {
		e := &t.entries[i]
		if t.gone[i] || e.IsSymlink() || len(e.Path) > MaxPathLen {
			continue
		}
		c.entries = append(c.entries, cacheEntry{path: e.Path, key: t.keys[i], blob: e.Blob})
	}
	return c
}
