package conda

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/ferry-ml/ferry/internal/fsutil"
	"github.com/hashicorp/go-hclog"
)

// Files inside a cache directory (see Cache).
const (
	metaDir      = ".ferry"    // inside a prefix
	completeFile = "COMPLETE"  // inside metaDir, written last
	lastUsedFile = "last_used" // inside metaDir, its mtime is the last use
	lockSuffix   = ".lock"     // <key>.lock beside the prefix
	buildSuffix  = ".build"    // <key>.build: the spec file during a build
	sourceSuffix = ".src"      // <key>.src: the build folder, kept for "-e ."
	trashInfix   = ".trash-"   // <key>.trash-<n>: a prefix being deleted
)

// keyRE matches a cache key (Spec.Key): 64 lower-case hex digits.
var keyRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{64}$`) })

// Sentinel errors callers branch on.
var (
	// ErrNotFound: no complete environment has that key.
	ErrNotFound = errors.New("environment not found")
	// ErrBusy: the environment is being built (its lock is held).
	ErrBusy = errors.New("environment is being built")
	// ErrBadKey: the key is not a cache key.
	ErrBadKey = errors.New("not an environment key")
)

// Cache keeps built conda prefixes under one directory, one per key:
//
//	<dir>/<key>/                  the prefix, built in place by the tool
//	<dir>/<key>/.ferry/COMPLETE   written last (temp + rename); without it
//	                              the prefix is incomplete: removed, rebuilt
//	<dir>/<key>/.ferry/last_used  touched on every use (LRU pruning)
//	<dir>/<key>.lock              flock(2): one build per key, across processes
//	<dir>/<key>.build/            the spec file and pip -r files while building
//	<dir>/<key>.src/              the same, kept with the prefix when pip
//	                              installed a project folder editable (-e .)
//
// Its methods are safe for concurrent use, also by several processes.
type Cache struct {
	dir string
	log hclog.Logger
}

// Entry describes one complete environment of a Cache.
type Entry struct {
	Key       string
	Prefix    string
	Tool      string
	Size      int64
	CreatedAt time.Time
	LastUsed  time.Time
}

// completeMark is the content of the COMPLETE marker.
type completeMark struct {
	Key       string    `json:"key"`
	Tool      string    `json:"tool"`
	CreatedAt time.Time `json:"created_at"`
}

// OpenCache returns the cache kept in dir, creating dir. A nil logger
// discards diagnostics.
func OpenCache(dir string, logger hclog.Logger) (*Cache, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve environment cache: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create environment cache: %w", err)
	}
	return &Cache{dir: abs, log: logger.Named("conda")}, nil
}

// Prefix returns the prefix path of key (built or not).
func (c *Cache) Prefix(key string) string { return filepath.Join(c.dir, key) }

// List returns the complete environments, least recently used first.
func (c *Cache) List() ([]Entry, error) {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	var out []Entry
	for _, e := range ents {
		if !e.IsDir() || !keyRE().MatchString(e.Name()) {
			continue
		}
		if ent, err := c.entry(e.Name()); err == nil {
			out = append(out, ent)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastUsed.Before(out[j].LastUsed) })
	return out, nil
}

// entry describes the complete environment key (ErrNotFound if incomplete).
func (c *Cache) entry(key string) (Entry, error) {
	prefix := c.Prefix(key)
	var mark completeMark
	data, err := os.ReadFile(filepath.Join(prefix, metaDir, completeFile))
	if err != nil {
		return Entry{}, fmt.Errorf("environment %s: %w", short(key), ErrNotFound)
	}
	if err := json.Unmarshal(data, &mark); err != nil {
		return Entry{}, fmt.Errorf("read environment %s marker: %w", short(key), err)
	}
	ent := Entry{Key: key, Prefix: prefix, Tool: mark.Tool, CreatedAt: mark.CreatedAt, LastUsed: mark.CreatedAt}
	if fi, err := os.Stat(filepath.Join(prefix, metaDir, lastUsedFile)); err == nil {
		ent.LastUsed = fi.ModTime().UTC()
	}
	ent.Size = dirSize(prefix) + dirSize(c.sourcePath(key))
	return ent, nil
}

// Remove deletes the complete or incomplete environment key. It fails with
// ErrBusy while the environment is being built and ErrNotFound when there
// is nothing to remove.
func (c *Cache) Remove(key string) (Entry, error) {
	if !keyRE().MatchString(key) {
		return Entry{}, fmt.Errorf("remove environment %q: %w", key, ErrBadKey)
	}
	l, err := fsutil.TryLock(c.lockPath(key))
	if errors.Is(err, fsutil.ErrLocked) {
		err = ErrBusy
	}
	if err != nil {
		return Entry{}, fmt.Errorf("remove environment %s: %w", short(key), err)
	}
	defer l.Unlock()
	ent, err := c.entry(key)
	if errors.Is(err, ErrNotFound) {
		if _, statErr := os.Lstat(c.Prefix(key)); statErr != nil {
			return Entry{}, err
		}
		ent, err = Entry{Key: key, Prefix: c.Prefix(key)}, nil
	}
	if err != nil {
		return Entry{}, err
	}
	if err := c.discard(key); err != nil {
		return Entry{}, err
	}
	if err := unregister(ent.Prefix); err != nil {
		c.log.Warn("unlist removed environment", "prefix", ent.Prefix, "error", err)
	}
	return ent, nil
}

// Prune removes environments, least recently used first, until at most
// keep remain (keep < 0: any number) and they take at most maxSize bytes
// (maxSize 0: any size). Environments being built are skipped. It returns
// the removed and the kept entries.
func (c *Cache) Prune(keep int, maxSize int64) (removed, kept []Entry, err error) {
	all, err := c.List()
	if err != nil {
		return nil, nil, err
	}
	var total int64
	for i := len(all) - 1; i >= 0; i-- { // newest first
		ent := all[i]
		fits := (keep < 0 || len(kept) < keep) && (maxSize == 0 || total+ent.Size <= maxSize)
		if fits {
			kept, total = append(kept, ent), total+ent.Size
			continue
		}
		if _, err := c.Remove(ent.Key); err != nil {
			if errors.Is(err, ErrBusy) {
				kept = append(kept, ent)
				continue
			}
			return removed, kept, err
		}
		removed = append(removed, ent)
	}
	return removed, kept, nil
}

// discard moves the prefix of key out of the way, then deletes it, so that
// a crash mid-delete never leaves a half-deleted prefix under its key.
// Callers hold the key's lock.
func (c *Cache) discard(key string) error {
	// The prefix first: without it the kept source is never used.
	for _, p := range []string{c.Prefix(key), c.sourcePath(key)} {
		if err := removeMoved(p); err != nil {
			return fmt.Errorf("remove environment %s: %w", short(key), err)
		}
	}
	return nil
}

// removeMoved renames p aside, then deletes it; a missing p is no error.
func removeMoved(p string) error {
	trash := fmt.Sprintf("%s%s%d", p, trashInfix, time.Now().UnixNano())
	if err := os.Rename(p, trash); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return os.RemoveAll(trash)
}

// sourcePath is the kept build folder of key (<key>.src).
func (c *Cache) sourcePath(key string) string { return filepath.Join(c.dir, key+sourceSuffix) }

// SourcePath is where an EnsureWith build keeps the project copy an
// editable install of key refers to: removed with the environment.
func (c *Cache) SourcePath(key string) string { return c.sourcePath(key) }

func (c *Cache) lockPath(key string) string { return filepath.Join(c.dir, key+lockSuffix) }

// touch records a use of the environment at prefix.
func touch(prefix string) error {
	p := filepath.Join(prefix, metaDir, lastUsedFile)
	now := time.Now()
	if err := os.Chtimes(p, now, now); err == nil {
		return nil
	}
	return writeFileAtomic(p, nil)
}

// writeFileAtomic writes data through a temp file, fsync and rename, so a
// marker is either whole or absent after a crash.
func writeFileAtomic(name string, data []byte) error {
	return fsutil.WriteFileAtomic(name, data, 0o644)
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// short is the 12-character form of a key used in messages.
func short(key string) string {
	if len(key) > 12 {
		return key[:12]
	}
	return key
}

// ShortKey returns the 12-character form of key shown to users.
func ShortKey(key string) string { return short(key) }
