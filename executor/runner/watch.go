package runner

import (
	"context"
	"fmt"
	"sync"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"
)

// fileWatch shares one inotify instance among every log follower and shim
// watcher of the daemon (a per-follower instance would soon hit the kernel's
// per-user limit of 128). Subscribers get a wake-up, never the event itself:
// each channel has a buffer of one and sends never block, so bursts of
// writes coalesce into one wake-up and a slow subscriber cannot stall the
// others. A subscriber re-reads the file's state after every wake-up.
type fileWatch struct {
	log hclog.Logger
	w   *fsnotify.Watcher

	mu      sync.Mutex
	watches map[string]int                        // watched path -> subscriber count
	subs    map[string]map[chan struct{}]struct{} // event name -> subscribers
}

// newFileWatch starts an inotify instance.
func newFileWatch(log hclog.Logger) (*fileWatch, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("start file watcher: %w", err)
	}
	return &fileWatch{
		log: log, w: w,
		watches: make(map[string]int),
		subs:    make(map[string]map[chan struct{}]struct{}),
	}, nil
}

// run dispatches events until ctx ends, then closes the watcher.
func (fw *fileWatch) run(ctx context.Context) {
	defer fw.w.Close()
	for {
		select {
		case ev, ok := <-fw.w.Events:
			if !ok {
				return
			}
			fw.notify(ev.Name)
		case err, ok := <-fw.w.Errors:
			if !ok {
				return
			}
			// An overflow loses events: wake everyone to re-check.
			fw.log.Debug("file watcher error", "error", err)
			fw.notifyAll()
		case <-ctx.Done():
			return
		}
	}
}

// subscribe watches watchPath (a file, or the directory holding name) and
// returns a channel that is woken after events on name. The returned
// function unsubscribes; call it exactly once.
func (fw *fileWatch) subscribe(watchPath, name string) (<-chan struct{}, func(), error) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.watches[watchPath] == 0 {
		if err := fw.w.Add(watchPath); err != nil {
			return nil, nil, fmt.Errorf("watch %s: %w", watchPath, err)
		}
	}
	fw.watches[watchPath]++
	ch := make(chan struct{}, 1)
	if fw.subs[name] == nil {
		fw.subs[name] = make(map[chan struct{}]struct{})
	}
	fw.subs[name][ch] = struct{}{}
	return ch, func() { fw.unsubscribe(watchPath, name, ch) }, nil
}

func (fw *fileWatch) unsubscribe(watchPath, name string, ch chan struct{}) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	delete(fw.subs[name], ch)
	if len(fw.subs[name]) == 0 {
		delete(fw.subs, name)
	}
	fw.watches[watchPath]--
	if fw.watches[watchPath] <= 0 {
		delete(fw.watches, watchPath)
		// The path may be gone already; nothing to undo then.
		_ = fw.w.Remove(watchPath)
	}
}

func (fw *fileWatch) notify(name string) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	for ch := range fw.subs[name] {
		wake(ch)
	}
}

func (fw *fileWatch) notifyAll() {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	for _, set := range fw.subs {
		for ch := range set {
			wake(ch)
		}
	}
}

// wake sends on a 1-buffered channel without blocking.
func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
