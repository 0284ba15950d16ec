package executor

import (
	"sync"

	"github.com/ferry-ml/ferry/snapshot"
)

// Decoded manifests are kept in memory: one sync and the run after it read
// the same few manifests (the base of a delta, the snapshot a run tree is
// made of, a spare tree's), and decoding and checking a 10,000-entry
// manifest costs a few ms each time. An entry is used only while the
// manifest file is still the one it was read from (size, inode, mtime), so
// a file replaced behind the daemon's back is read and checked again.
//
// Manifests from the cache are shared: callers must not modify them.
const (
	manifestCacheItems   = 4
	manifestCacheEntries = 200_000 // total entries held, whatever the count
)

type manifestCache struct {
	mu    sync.Mutex
	items []cachedManifest // least recently used first
}

type cachedManifest struct {
	id snapshot.ID
	st blobStat
	m  *snapshot.Manifest
}

// get returns the manifest cached for id when its file is still st.
func (c *manifestCache) get(id snapshot.ID, st blobStat) *snapshot.Manifest {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, it := range c.items {
		if it.id == id {
			if it.st != st {
				c.items = append(c.items[:i], c.items[i+1:]...)
				return nil
			}
			c.items = append(append(c.items[:i], c.items[i+1:]...), it)
			return it.m
		}
	}
	return nil
}

// put caches m, the manifest id read from a file that is st, evicting the
// least recently used beyond the bounds.
func (c *manifestCache) put(id snapshot.ID, st blobStat, m *snapshot.Manifest) {
	if len(m.Entries) > manifestCacheEntries {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, it := range c.items {
		if it.id == id {
			c.items = append(c.items[:i], c.items[i+1:]...)
			break
		}
	}
	c.items = append(c.items, cachedManifest{id: id, st: st, m: m})
	total := 0
	for _, it := range c.items {
		total += len(it.m.Entries)
	}
	for len(c.items) > manifestCacheItems || total > manifestCacheEntries {
		total -= len(c.items[0].m.Entries)
		c.items = c.items[1:]
	}
}
