package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
)

// TreeChanges is what a tree watcher says of a root (Options.Tree).
type TreeChanges struct {
	// Token names the state of the tree now; "": the watcher cannot vouch
	// for it, and Take walks.
	Token string
	// Known: Dirs and Whole name every directory in which something a
	// snapshot includes changed since the token Take asked about.
	Known bool
	// Dirs are the directories whose own entries changed (relative,
	// "/"-separated, "" for the root); Whole, those that appeared (made,
	// or moved in): everything under them is new.
	Dirs, Whole []string
}

// takeRescan makes root's manifest from prev, the one saved last, and the
// directories tc names as changed since: their entries are listed and
// lstat'ed again (and hashed where the stat cache cannot vouch for them),
// the directories that appeared are walked whole, and every other entry is
// prev's. It gives what a walk would, as far as the watcher saw every
// change (agent/watch.Trees). Any error: Take walks instead.
func takeRescan(ctx context.Context, abs string, prev *Manifest, prevWarned [][2]string, tc TreeChanges, opts Options, start time.Time) (*Manifest, Stats, error) {
	cache := preloadCache(opts.CacheDir, abs) // read while the directories are
	warned := &warnings{warn: opts.Warn}
	r := newRescan(abs, tc, warned.add)
	walked, err := r.read()
	if err != nil {
		return nil, Stats{}, err
	}
	kept := keptWarnings(r, prevWarned, opts.Warn)
	opts.Warn = warned.add
	t := newTake(abs, opts, racyWindow, cache)
	sub, err := t.run(ctx, walked, opts.Workers)
	if err != nil {
		return nil, Stats{}, err
	}
	entries, err := mergeEntries(keptEntries(r, prev.Entries), sub.Entries)
	if err != nil {
		return nil, Stats{}, err
	}
	if err := checkCount(int64(len(entries))); err != nil {
		return nil, Stats{}, err
	}
	m := &Manifest{Entries: entries, chunks: sub.chunks}
	r.saveCache(t, opts.CacheDir, start)
	if err := saveTree(opts.CacheDir, abs, tc.Token, m, append(kept, warned.list()...)); err != nil {
		t.log.Warn("cannot save tree cache", "error", err)
	}
	st := t.stats
	st.Files, st.Bytes, st.Rescanned = m.Files(), m.Bytes(), int(r.w.read.Load())
	st.Duration = time.Since(start)
	t.log.Debug("snapshot taken from the last and the directories changed since", "files", st.Files,
		"directories", st.Rescanned, "hashed", st.Hashed, "cached", st.Cached, "duration", st.Duration)
	return m, st, nil
}

// rescan reads the directories named as changed.
type rescan struct {
	w      *walker
	listed map[string]bool // directories whose entries are read again
	whole  map[string]bool // directories walked whole (not under one another)
	// gone: listed directories that are no longer included directories.
	gone map[string]bool
	// present: the subdirectories found in the listed directories.
	present map[string]dirJob
	inner   map[string]innerRules // memo of rulesInside
	dropped dropMemo
}

// innerRules is the chain of rules that applies to a directory's entries;
// ok false: the directory is not an included directory now.
type innerRules struct {
	rules *ruleChain
	ok    bool
}

func newRescan(abs string, tc TreeChanges, warn func(path, reason string)) *rescan {
	r := &rescan{w: newWalker(abs, WalkOptions{Warn: warn}), listed: map[string]bool{}, whole: map[string]bool{},
		gone: map[string]bool{}, present: map[string]dirJob{}, inner: map[string]innerRules{}}
	for _, d := range tc.Whole {
		if !r.underWhole(d) {
			r.whole[d] = true
		}
	}
	for _, d := range tc.Dirs {
		if !r.whole[d] && !r.underWhole(d) {
			r.listed[d] = true
		}
	}
	return r
}

// underWhole reports whether dir lies under a directory walked whole.
func (r *rescan) underWhole(dir string) bool {
	for dir != "" {
		dir = relDir(dir)
		if r.whole[dir] {
			return true
		}
	}
	return false
}

// read lists the changed directories again and walks the new ones; it
// returns what they hold, sorted by path.
func (r *rescan) read() ([]WalkEntry, error) {
	for _, w := range slices.Sorted(maps.Keys(r.whole)) {
		if !r.listed[relDir(w)] {
			return nil, fmt.Errorf("rescan: %q appeared, but its parent is not listed as changed", w)
		}
	}
	var out []WalkEntry
	for _, d := range slices.Sorted(maps.Keys(r.listed)) { // parents first: a prefix sorts first
		files, err := r.list(d)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	}
	var jobs []dirJob
	for _, w := range slices.Sorted(maps.Keys(r.whole)) {
		if job, ok := r.present[w]; ok {
			jobs = append(jobs, job)
		}
	}
	for _, job := range jobs {
		r.w.run(job)
	}
	r.w.wg.Wait()
	if r.w.err != nil {
		return nil, r.w.err
	}
	for _, job := range jobs {
		r.w.emit(job.rel)
	}
	out = append(out, r.w.out...)
	slices.SortFunc(out, func(a, b WalkEntry) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// list reads the entries of the listed directory d again; a directory no
// longer there (or no longer included) is marked gone.
func (r *rescan) list(d string) ([]WalkEntry, error) {
	if r.cut(d) {
		r.gone[d] = true
		return nil, nil
	}
	job, ok, err := r.job(d)
	if err != nil || !ok {
		r.gone[d] = !ok
		return nil, err
	}
	subdirs, files, err := r.w.scanDir(job)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		r.gone[d] = true
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, s := range subdirs {
		r.present[s.rel] = s
	}
	return files, nil
}

// job returns the walk job of directory d; ok false: d is not an
// included directory now (gone, excluded, a symlink, or under one).
func (r *rescan) job(d string) (dirJob, bool, error) {
	if d == "" {
		return dirJob{}, true, nil
	}
	parent := relDir(d)
	in, err := r.rulesInside(parent)
	if err != nil || !in.ok {
		return dirJob{}, false, err
	}
	name := d[strings.LastIndexByte(d, '/')+1:]
	if name == ".git" || (parent == "" && name == ".ferry") {
		return dirJob{}, false, nil
	}
	fi, err := os.Lstat(r.w.abs(d))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return dirJob{}, false, nil
	}
	if err != nil {
		return dirJob{}, false, fmt.Errorf("rescan: %w", err)
	}
	if !fi.IsDir() || in.rules.excluded(d, name, true) {
		return dirJob{}, false, nil
	}
	return dirJob{rel: d, rules: in.rules}, true, nil
}

// rulesInside returns the rules that apply to the entries of directory d:
// those of its parents and its own ignore file.
func (r *rescan) rulesInside(d string) (innerRules, error) {
	if in, ok := r.inner[d]; ok {
		return in, nil
	}
	job, ok, err := r.job(d)
	if err != nil || !ok {
		r.inner[d] = innerRules{}
		return innerRules{}, err
	}
	rules, err := r.ownRules(job)
	if err != nil {
		return innerRules{}, err
	}
	in := innerRules{rules: rules, ok: true}
	r.inner[d] = in
	return in, nil
}

// ownRules adds directory job's own ignore file to its parents' rules:
// the first of ignoreFileNames that is a regular file (pickIgnoreFile).
func (r *rescan) ownRules(job dirJob) (*ruleChain, error) {
	dir := r.w.abs(job.rel)
	for _, n := range ignoreFileNames {
		fi, err := os.Lstat(dir + "/" + n)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		data, err := r.w.readFile(dir + "/" + n)
		if err != nil {
			return nil, fmt.Errorf("read ignore file: %w", err)
		}
		if f := parseIgnoreFile(data, job.rel); len(f.patterns) > 0 {
			return &ruleChain{file: f, parent: job.rules}, nil
		}
		return job.rules, nil
	}
	return job.rules, nil
}

// cut reports whether what prev had under directory dir is void: dir is,
// or lies under, a directory gone or walked whole, or under a directory
// listed again that no longer has the subdirectory leading to it. Only
// valid for dir once its listed parents were read (read goes parents
// first).
func (r *rescan) cut(dir string) bool {
	for d := dir; ; {
		if r.gone[d] || r.whole[d] {
			return true
		}
		if d == "" {
			return false
		}
		parent := relDir(d)
		if _, ok := r.present[d]; r.listed[parent] && !ok {
			return true
		}
		d = parent
	}
}

// dropMemo remembers the last directory drop decided for, as prev's
// entries come grouped by directory.
type dropMemo struct {
	dir  string
	drop bool
	set  bool
}

// drops reports whether prev's entry at path is replaced by what was read
// again: its directory was listed again, or is cut.
func (r *rescan) drops(path string) bool {
	dir := relDir(path)
	if r.dropped.set && r.dropped.dir == dir {
		return r.dropped.drop
	}
	drop := r.listed[dir] || r.cut(dir)
	r.dropped = dropMemo{dir: dir, drop: drop, set: true}
	return drop
}

// keptEntries returns prev's entries that were not read again.
func keptEntries(r *rescan, prev []Entry) []Entry {
	return kept(r, prev, func(e Entry) string { return e.Path })
}

// kept returns the items of s (sorted by path) outside what was read again.
func kept[T any](r *rescan, s []T, path func(T) string) []T {
	out := make([]T, 0, len(s))
	for _, e := range s {
		if !r.drops(path(e)) {
			out = append(out, e)
		}
	}
	return out
}

// keptWarnings returns the warnings of the last snapshot outside what was
// read again, passing them to warn as a walk would.
func keptWarnings(r *rescan, prev [][2]string, warn func(path, reason string)) [][2]string {
	out := kept(r, prev, func(w [2]string) string { return w[0] })
	if warn != nil {
		for _, w := range out {
			warn(w[0], w[1])
		}
	}
	return out
}

// mergeEntries merges two lists sorted by path that share none.
func mergeEntries(a, b []Entry) ([]Entry, error) {
	return mergeByPath(a, b, func(e Entry) string { return e.Path })
}

// mergeByPath merges two lists sorted by path that share none.
func mergeByPath[T any](a, b []T, path func(T) string) ([]T, error) {
	out := make([]T, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0 || (len(a) > 0 && path(a[0]) < path(b[0])):
			out, a = append(out, a[0]), a[1:]
		case len(a) == 0 || path(b[0]) < path(a[0]):
			out, b = append(out, b[0]), b[1:]
		default:
			return nil, fmt.Errorf("rescan: %q both kept and read again", path(a[0]))
		}
	}
	return out, nil
}

// saveCache rewrites the stat cache: the entries outside what was read
// again, with the keys of what was read. The watermark moves to start:
// the entries kept were read no earlier than their last change, which the
// watcher would have reported.
func (r *rescan) saveCache(t *take, dir string, start time.Time) {
	var old []cacheEntry
	if t.cache != nil {
		old = t.cache.entries
	}
	path := func(e cacheEntry) string { return e.path }
	outside := kept(r, old, path)
	fresh := t.newCache(start)
	if t.hashedFiles.Load() == 0 && len(outside)+len(fresh.entries) == len(old) {
		return // the same files, all vouched for by the cache
	}
	merged, err := mergeByPath(outside, fresh.entries, path)
	if err != nil {
		t.log.Warn("cannot save stat cache", "error", err)
		return
	}
	fresh.entries = merged
	t.saveCache(cacheFile(dir, t.abs), fresh)
}

// relDir returns the parent of the relative path rel ("" for the root's
// entries and for the root itself).
func relDir(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return ""
}
