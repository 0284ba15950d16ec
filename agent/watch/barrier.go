package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/fsnotify/fsnotify"
)

// A barrier makes a Watcher's generation current: every change made
// before Sync was called has been read from inotify and counted once it
// returns. inotify queues an event as the change is made, in one queue per
// instance; Sync creates a file in a private directory watched by the
// same instance and waits until the Run loop has handled that file's
// event, and so every event queued before it. Without it, a change made
// just before a command asks for a token could still sit in the kernel's
// queue, and the token would vouch for a tree that has changed.
type barrier struct {
	dir  string
	mu   sync.Mutex // orders the files' names as their events: one Sync creates at a time
	next uint64

	seenMu sync.Mutex
	seen   uint64        // the highest barrier file whose event Run handled
	moved  chan struct{} // closed when seen moves (then replaced)
}

func newBarrier(dir string) *barrier {
	return &barrier{dir: dir, moved: make(chan struct{})}
}

// Sync waits until every change made before it was called has been
// handled, or ctx ends. Safe for concurrent use; needs Run to be running.
func (w *Watcher) Sync(ctx context.Context) error {
	b := w.barrier
	if b == nil {
		return errors.New("watcher has no barrier directory")
	}
	b.mu.Lock()
	b.next++
	n := b.next
	name := filepath.Join(b.dir, strconv.FormatUint(n, 10))
	err := os.WriteFile(name, nil, 0o600)
	b.mu.Unlock()
	if err != nil {
		return fmt.Errorf("watch barrier: %w", err)
	}
	defer os.Remove(name)
	for {
		b.seenMu.Lock()
		seen, moved := b.seen, b.moved
		b.seenMu.Unlock()
		if seen >= n {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return fmt.Errorf("watch barrier: %w", context.Cause(ctx))
		}
	}
}

// onEvent handles an event in the barrier directory; false: not one.
func (b *barrier) onEvent(ev fsnotify.Event) bool {
	if b == nil || filepath.Dir(ev.Name) != b.dir {
		return false
	}
	n, err := strconv.ParseUint(filepath.Base(ev.Name), 10, 64)
	if err != nil || !ev.Has(fsnotify.Create) {
		return true
	}
	b.seenMu.Lock()
	if n > b.seen {
		b.seen = n
		close(b.moved)
		b.moved = make(chan struct{})
	}
	b.seenMu.Unlock()
	return true
}
