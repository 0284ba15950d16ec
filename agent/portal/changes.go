package portal

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"
)

// changeQuiet coalesces the burst of writes one history update makes.
const changeQuiet = 100 * time.Millisecond

// changes tells subscribers when the run history changed, whoever changed
// it (this portal, a "ferry run" in a terminal). It watches the database
// file and its write-ahead log with inotify: no polling.
type changes struct {
	mu      sync.Mutex
	version uint64
	subs    map[chan uint64]struct{}
}

func newChanges() *changes {
	return &changes{subs: make(map[chan uint64]struct{})}
}

// subscribe returns a channel that receives the latest version after each
// change (coalesced: a slow reader sees the newest one) and a function
// that ends the subscription.
func (c *changes) subscribe() (<-chan uint64, func()) {
	ch := make(chan uint64, 1)
	c.mu.Lock()
	c.subs[ch] = struct{}{}
	c.mu.Unlock()
	return ch, func() {
		c.mu.Lock()
		delete(c.subs, ch)
		c.mu.Unlock()
	}
}

// Version is the number of changes seen so far.
func (c *changes) Version() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// bump records a change and tells every subscriber without blocking.
func (c *changes) bump() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version++
	for ch := range c.subs {
		select {
		case <-ch:
		default:
		}
		ch <- c.version
	}
}

// watch bumps on every write to the database at dbPath until ctx ends. It
// watches the folder, since SQLite creates and removes its -wal file.
func (c *changes) watch(ctx context.Context, dbPath string, log hclog.Logger) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch run history: %w", err)
	}
	if err := w.Add(filepath.Dir(dbPath)); err != nil {
		w.Close()
		return fmt.Errorf("watch run history: %w", err)
	}
	go c.loop(ctx, w, filepath.Base(dbPath), log)
	return nil
}

// loop owns w: it turns its events into debounced bumps and closes it when
// ctx ends.
func (c *changes) loop(ctx context.Context, w *fsnotify.Watcher, base string, log hclog.Logger) {
	defer w.Close()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if isDBWrite(ev, base) {
				timer.Reset(changeQuiet)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			log.Warn("watching the run history", "error", err)
		case <-timer.C:
			c.bump()
		}
	}
}

// isDBWrite reports whether ev writes the database or its -wal file (the
// -shm file changes on reads too, and is ignored).
func isDBWrite(ev fsnotify.Event, base string) bool {
	name := filepath.Base(ev.Name)
	if name != base && name != base+"-wal" && !strings.HasSuffix(name, "-journal") {
		return false
	}
	return ev.Has(fsnotify.Write) || ev.Has(fsnotify.Create)
}
