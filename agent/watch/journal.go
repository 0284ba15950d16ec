package watch

import (
	"path/filepath"
	"slices"
	"sync"
)

// maxJournal bounds the directories a journal names; past it, it loses
// track (a snapshot walks) rather than grow: re-reading that many
// directories costs about a walk anyway.
const maxJournal = 1024

// A journal remembers in which directories the relevant changes were seen,
// and at which generation, so that a snapshot taken after a few edits
// re-reads those directories only (Trees.Changes). It shares the Watcher's
// generation: every move of the generation goes through it, under its lock,
// so that what it names at a generation is complete.
type journal struct {
	mu sync.Mutex
	// floor is the last generation at which a change went unnamed (lost
	// events, polling, an ignore file changed, too many directories): the
	// journal names every change after a generation g only when g >= floor.
	floor uint64
	dirs  map[string]dirMark // relative, "/"-separated; "" is the root
}

// dirMark holds the last generation at which a directory's own entries
// changed, and the last at which the directory itself appeared (created,
// or moved in: everything under it is new).
type dirMark struct{ entries, whole uint64 }

// change is what one event did to the tree, for the journal.
type change struct {
	unknown bool   // cannot be named by directories
	dir     string // the directory whose entries changed
	whole   string // a directory that appeared ("": none)
}

// record moves the generation for c and remembers where it happened.
func (w *Watcher) record(c change) {
	j := &w.journal
	j.mu.Lock()
	defer j.mu.Unlock()
	g := w.gen.Add(1)
	if c.unknown || (len(j.dirs) >= maxJournal && !j.has(c)) {
		j.floor, j.dirs = g, nil
		return
	}
	if j.dirs == nil {
		j.dirs = map[string]dirMark{}
	}
	m := j.dirs[c.dir]
	m.entries = g
	j.dirs[c.dir] = m
	if c.whole != "" {
		m := j.dirs[c.whole]
		m.entries, m.whole = g, g
		j.dirs[c.whole] = m
	}
}

// has reports whether c names only directories already in the journal.
func (j *journal) has(c change) bool {
	_, ok := j.dirs[c.dir]
	if c.whole != "" {
		_, w := j.dirs[c.whole]
		ok = ok && w
	}
	return ok
}

// Changes returns the generation now and, when the journal can name them,
// the directories whose entries changed after generation since, and those
// that appeared after it (sorted); ok false: it cannot (or since is not
// one of this watcher's). Safe for concurrent use.
func (w *Watcher) Changes(since uint64) (gen uint64, dirs, whole []string, ok bool) {
	j := &w.journal
	j.mu.Lock()
	defer j.mu.Unlock()
	gen = w.gen.Load()
	if since < j.floor || since > gen {
		return gen, nil, nil, false
	}
	for d, m := range j.dirs {
		if m.entries > since {
			dirs = append(dirs, d)
		}
		if m.whole > since {
			whole = append(whole, d)
		}
	}
	slices.Sort(dirs)
	slices.Sort(whole)
	return gen, dirs, whole, true
}

// relDir returns the "/"-separated parent of rel ("" for the root's).
func relDir(rel string) string {
	d := filepath.ToSlash(filepath.Dir(rel))
	if d == "." {
		return ""
	}
	return d
}
