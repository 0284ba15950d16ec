package snapshot

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
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
	// Tree, when set (with CacheDir), is asked before the walk about the
	// tree at the absolute root (the keeper's watch, agent/watch.Trees),
	// given the token the manifest saved last was taken under ("" for
	// none). When the token it returns is equal, nothing in the tree
	// changed since the walk that made that manifest began, and Take
	// returns it without walking (Stats.Watched; its warnings are passed to
	// Warn again; no chunks). When it names the directories changed since
	// (TreeChanges.Known), Take reads only those again (Stats.Rescanned).
	// Nil, or a "" token: Take walks.
	Tree func(root, since string) TreeChanges
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
	// Watched: the manifest is the one saved last, which the tree token
	// vouched for (Options.Tree); nothing was walked or read.
	Watched bool
	// Rescanned: the directories read again, the tree watcher having named
	// them as the only ones changed (Options.Tree); 0 after a walk.
	Rescanned int
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
	var token string
	if opts.Tree != nil && opts.CacheDir != "" {
		saved := readTree(opts.CacheDir, abs)
		tc := opts.Tree(abs, saved.token())
		if m, st, ok := takeSaved(ctx, abs, saved, tc, opts, start); ok {
			return m, st, nil
		}
		token = tc.Token
	}
	var warned *warnings
	if token != "" {
		warned = &warnings{warn: opts.Warn}
		opts.Warn = warned.add
	}
	cache := preloadCache(opts.CacheDir, abs) // read and decoded while the walk runs
	walked, err := Walk(abs, WalkOptions{Warn: opts.Warn})
	if err != nil {
		return nil, Stats{}, err
	}
	if err := checkCount(int64(len(walked))); err != nil {
		return nil, Stats{}, fmt.Errorf("snapshot %s: %w", abs, err)
	}
	m, st, err := takeWalked(ctx, abs, walked, opts, start, racyWindow, cache)
	if err == nil && token != "" {
		if err := saveTree(opts.CacheDir, abs, token, m, warned.list()); err != nil {
			logOf(opts).Warn("cannot save tree cache", "error", err)
		}
	}
	return m, st, err
}

// takeSaved returns the manifest saved last when the tree watcher vouches
// for it (the same token), or that manifest with the directories it names
// as changed read again; ok false: Take walks.
func takeSaved(ctx context.Context, abs string, saved *savedTree, tc TreeChanges, opts Options, start time.Time) (*Manifest, Stats, bool) {
	if saved == nil || tc.Token == "" {
		return nil, Stats{}, false
	}
	log := logOf(opts).Named("snapshot")
	prev, err := saved.manifest()
	if err != nil {
		log.Debug("ignoring tree cache", "error", err)
		return nil, Stats{}, false
	}
	if tc.Token == saved.token() {
		if opts.Warn != nil {
			for _, w := range saved.header.Warnings {
				opts.Warn(w[0], w[1])
			}
		}
		st := Stats{Files: prev.Files(), Bytes: prev.Bytes(), Watched: true, Duration: time.Since(start)}
		log.Debug("snapshot unchanged since the last (tree watched)", "files", st.Files, "duration", st.Duration)
		return prev, st, true
	}
	if !tc.Known {
		return nil, Stats{}, false
	}
	m, st, err := takeRescan(ctx, abs, prev, saved.header.Warnings, tc, opts, start)
	if err != nil {
		log.Debug("cannot read the changed directories again; walking", "error", err)
		return nil, Stats{}, false
	}
	return m, st, true
}

func logOf(opts Options) hclog.Logger {
	if opts.Logger == nil {
		return hclog.NewNullLogger()
	}
	return opts.Logger
}

// warnings collects what the walk warned about, passing it on.
type warnings struct {
	warn func(path, reason string)
	mu   sync.Mutex
	got  [][2]string
}

func (w *warnings) add(path, reason string) {
	w.mu.Lock()
	w.got = append(w.got, [2]string{path, reason})
	w.mu.Unlock()
	if w.warn != nil {
		w.warn(path, reason)
	}
}

func (w *warnings) list() [][2]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.got
}

// takeWalked is Take after the walk: abs is the absolute root and walked
// its entries in path order; start is when the scan began (the stat cache's
// watermark) and racy the window before it in which a cached file is not
// trusted (tests shrink it rather than wait). cache is the stat cache
// preloaded during the walk; nil: takeWalked loads it (opts.CacheDir).
func takeWalked(ctx context.Context, abs string, walked []WalkEntry, opts Options, start time.Time, racy time.Duration, cache *loadedCache) (*Manifest, Stats, error) {
	t := newTake(abs, opts, racy, cache)
	m, err := t.run(ctx, walked, opts.Workers)
	if err != nil {
		return nil, Stats{}, err
	}
	if opts.CacheDir != "" && t.cacheDirty() {
		t.saveCache(cacheFile(opts.CacheDir, abs), t.newCache(start))
	}
	t.stats.Files, t.stats.Bytes = m.Files(), m.Bytes()
	t.stats.Duration = time.Since(start)
	t.log.Debug("snapshot taken", "files", t.stats.Files, "hashed", t.stats.Hashed,
		"cached", t.stats.Cached, "chunked", t.stats.Chunked, "duration", t.stats.Duration)
	return m, t.stats, nil
}

// newTake returns the state of a Take after its walk; cache is the stat
// cache preloaded, nil: loaded here (from opts.CacheDir, if any).
func newTake(abs string, opts Options, racy time.Duration, cache *loadedCache) *take {
	t := &take{abs: abs, log: logOf(opts).Named("snapshot"), warn: opts.Warn, racy: racy,
		chunkMin: opts.ChunkMin, chunkMax: opts.ChunkMax}
	if opts.CacheDir != "" {
		if cache == nil {
			cache = preloadCache(opts.CacheDir, abs)
		}
		t.useCache(cache)
	}
	return t
}

// run plans the walked entries against the stat cache, hashes the rest and
// returns their manifest.
func (t *take) run(ctx context.Context, walked []WalkEntry, workers int) (*Manifest, error) {
	t.plan(walked)
	if err := t.hashAll(ctx, workers); err != nil {
		return nil, err
	}
	return t.manifest(), nil
}

// saveCache writes c to path, logging a failure: the cache only saves work.
func (t *take) saveCache(path string, c *statCache) {
	if err := c.save(path); err != nil {
		t.log.Warn("cannot save stat cache", "path", path, "error", err)
	}
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
