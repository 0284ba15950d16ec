package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ferry-ml/ferry/snapshot"
	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"
)

// ErrSourceGone is returned when the watched source directory disappears
// (removed, renamed or replaced by something that is not a directory).
var ErrSourceGone = errors.New("source directory disappeared")

// DefaultPollInterval is how often the tree is snapshotted when inotify
// cannot watch it (the per-user watch limit is reached).
const DefaultPollInterval = time.Second

// WatcherOptions configure a Watcher. Zero values mean the defaults.
type WatcherOptions struct {
	Quiet        time.Duration // see DefaultQuiet
	MaxWait      time.Duration // see DefaultMaxWait
	Settle       time.Duration // see DefaultSettle
	PollInterval time.Duration // see DefaultPollInterval
	Logger       hclog.Logger
	// Notice receives messages for the person at the terminal (the switch
	// to polling). May be nil.
	Notice func(msg string)
	// KeepScratch counts editors' scratch files as changes too: for a
	// watcher that vouches for a whole snapshot (Trees), not one that
	// only decides when to rerun.
	KeepScratch bool
	// BarrierDir, when set, is a private empty directory (not inside the
	// tree) that Sync creates files in; "": no Sync.
	BarrierDir string

	// addWatch replaces fsnotify's Add (tests make it fail with ENOSPC).
	addWatch func(w *fsnotify.Watcher, dir string) error
}

// Watcher watches a source directory recursively and turns filesystem
// events into debounced triggers. Events for paths the snapshot leaves out
// (the ignore rules, parents checked first) and for editors' scratch files
// are dropped; a change to an ignore file drops the cached rules of its
// directory and rescans for newly included directories. When inotify
// cannot watch every directory (ENOSPC: the watch limit), it says so once
// through Notice and triggers every PollInterval instead.
//
// A Watcher is used by one goroutine: create it, call Run, then Close.
type Watcher struct {
	root string
	opts WatcherOptions
	log  hclog.Logger
	ign  *snapshot.IgnoreChecker
	fsw  *fsnotify.Watcher // nil when polling
	dirs map[string]fileID // watched directories, absolute paths
	// byID names each watched directory by its identity: inotify watches
	// an inode, so one directory must never be watched under two paths
	// (dirs.go).
	byID  map[fileID]string
	deb   Debouncer
	timer *time.Timer

	// gen counts the relevant events (and anything else that may have
	// changed the tree unseen); settled fires once Settle passed quietly.
	gen     atomic.Uint64
	journal journal     // where the changes were, by generation (journal.go)
	polling atomic.Bool // set before the generation moves for it
	// lost is set when inotify's queue overflowed: events were dropped,
	// possibly after the barrier's (Trees then drops the watcher).
	lost    atomic.Bool
	barrier *barrier // nil without BarrierDir
	sdeb    Debouncer
	stimer  *time.Timer
	settled chan struct{}
}

// NewWatcher starts watching root (absolute; a symlink to a directory is
// followed) and every directory under it that the snapshot includes.
func NewWatcher(root string, opts WatcherOptions) (*Watcher, error) {
	if opts.Quiet <= 0 {
		opts.Quiet = DefaultQuiet
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Settle <= 0 {
		opts.Settle = DefaultSettle
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.addWatch == nil {
		opts.addWatch = func(w *fsnotify.Watcher, dir string) error { return w.Add(dir) }
	}
	// A source given through a symlink is watched where it is: the walk
	// below does not follow a symlink, and the events name real paths.
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", root, err)
	}
	root = real
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("start file watcher: %w", err)
	}
	w := &Watcher{
		root: root, opts: opts, log: opts.Logger.Named("watch"), fsw: fsw,
		ign: snapshot.NewIgnoreChecker(root), dirs: map[string]fileID{}, byID: map[fileID]string{},
		deb:  Debouncer{Quiet: opts.Quiet, MaxWait: opts.MaxWait},
		sdeb: Debouncer{Quiet: opts.Settle}, settled: make(chan struct{}, 1),
	}
	if opts.BarrierDir != "" {
		if err := fsw.Add(opts.BarrierDir); err != nil {
			fsw.Close()
			return nil, fmt.Errorf("watch barrier directory: %w", err)
		}
		w.barrier = newBarrier(opts.BarrierDir)
	}
	if err := w.addTree(root); err != nil {
		if !isWatchLimit(err) {
			fsw.Close()
			return nil, fmt.Errorf("watch %s: %w", root, err)
		}
		w.startPolling(err)
	}
	return w, nil
}

// Generation counts the changes seen so far (relevant events, lost events,
// polls): equal values mean that nothing was seen to change in between.
// Safe for concurrent use.
func (w *Watcher) Generation() uint64 { return w.gen.Load() }

// Settled receives (coalesced) once the events of a burst have been quiet
// for Settle, well before the trigger: a hint to prepare, not to run.
func (w *Watcher) Settled() <-chan struct{} { return w.settled }

// Polling reports whether the watcher fell back to polling, when a
// change may go unseen until the next poll. Safe for concurrent use.
func (w *Watcher) Polling() bool { return w.polling.Load() }

// Lost reports whether changes may have gone unseen: inotify dropped
// events (its queue overflowed), or the root was moved and replaced. Safe
// for concurrent use.
func (w *Watcher) Lost() bool { return w.lost.Load() }

// Close releases the inotify instance.
func (w *Watcher) Close() error {
	if w.fsw == nil {
		return nil
	}
	return w.fsw.Close()
}

// Run sends on trigger (without blocking: a 1-buffered channel coalesces
// triggers the receiver has not taken yet) once each burst of relevant
// events has settled, until ctx ends (it returns ctx's error) or the root
// disappears (ErrSourceGone).
func (w *Watcher) Run(ctx context.Context, trigger chan<- struct{}) error {
	w.timer = time.NewTimer(time.Hour)
	w.timer.Stop()
	defer w.timer.Stop()
	w.stimer = time.NewTimer(time.Hour)
	w.stimer.Stop()
	defer w.stimer.Stop()
	var tick <-chan time.Time
	for {
		var events <-chan fsnotify.Event
		var errs <-chan error
		if w.fsw != nil {
			events, errs = w.fsw.Events, w.fsw.Errors
		} else if tick == nil {
			t := time.NewTicker(w.opts.PollInterval)
			defer t.Stop()
			tick = t.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-events:
			if !ok {
				return errors.New("file watcher closed")
			}
			if err := w.onEvent(ev); err != nil {
				return err
			}
		case err, ok := <-errs:
			if ok {
				w.onError(err)
			}
		case <-w.timer.C:
			if w.deb.Fire(time.Now()) {
				send(trigger)
			} else {
				w.arm()
			}
		case <-w.stimer.C:
			if w.sdeb.Fire(time.Now()) {
				send(w.settled)
			}
		case <-tick:
			if !isDir(w.root) {
				return ErrSourceGone
			}
			w.record(change{unknown: true})
			send(trigger)
		}
	}
}

// send is a non-blocking send: a trigger already waiting covers this one.
func send(trigger chan<- struct{}) {
	select {
	case trigger <- struct{}{}:
	default:
	}
}

// onEvent handles one fsnotify event; the error is ErrSourceGone.
func (w *Watcher) onEvent(ev fsnotify.Event) error {
	if w.barrier.onEvent(ev) {
		return nil
	}
	relevant, c, err := w.classify(ev)
	if err != nil {
		return err
	}
	w.log.Trace("event", "path", ev.Name, "op", ev.Op.String(), "relevant", relevant)
	if relevant {
		w.changed(c)
	}
	return nil
}

// changed records a change: the debouncers restart, the generation moves.
func (w *Watcher) changed(c change) {
	w.record(c)
	now := time.Now()
	w.deb.Add(now)
	w.arm()
	w.sdeb.Add(now)
	if w.stimer != nil {
		w.stimer.Reset(w.opts.Settle)
	}
}

// onError handles an error from inotify: an overflow means events were
// lost, so rescan for new directories and snapshot anyway.
func (w *Watcher) onError(err error) {
	if !errors.Is(err, fsnotify.ErrEventOverflow) {
		w.log.Warn("file watcher error", "error", err)
		return
	}
	w.lost.Store(true)
	w.log.Warn("file watcher queue overflowed; rescanning", "root", w.root)
	w.rescan()
	w.changed(change{unknown: true})
}

// arm sets the timer to the debouncer's due time.
func (w *Watcher) arm() {
	at, ok := w.deb.Due()
	if !ok {
		return
	}
	w.timer.Reset(max(time.Until(at), 0))
}

// classify reports whether ev may change the snapshot, and where, keeping
// the watch set and the ignore rules up to date on the way.
func (w *Watcher) classify(ev fsnotify.Event) (bool, change, error) {
	rel, err := filepath.Rel(w.root, ev.Name)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return false, change{}, nil
	}
	if rel == "." {
		if !ev.Has(fsnotify.Remove | fsnotify.Rename) {
			return false, change{}, nil
		}
		if !isDir(w.root) {
			return false, change{}, ErrSourceGone
		}
		// Moved away and replaced: what is watched is no longer the
		// tree at root (Trees starts over; a rerun sees the new one).
		w.lost.Store(true)
		return true, change{unknown: true}, nil
	}
	name := filepath.Base(rel)
	if snapshot.IsIgnoreFile(name) {
		w.ign.Invalidate(filepath.Dir(rel))
		w.rescan()
		return true, change{unknown: true}, nil // the rules changed: what is included may have, anywhere below
	}
	if isScratch(name) && !w.opts.KeepScratch {
		return false, change{}, nil
	}
	_, dir := w.dirs[ev.Name]
	if ev.Has(fsnotify.Remove|fsnotify.Rename) && dir {
		w.forget(ev.Name)
	}
	if ev.Has(fsnotify.Create) {
		fi, err := os.Lstat(ev.Name)
		dir = err == nil && fi.IsDir()
	}
	ignored, err := w.ign.Ignored(rel, dir)
	if err != nil {
		w.log.Debug("cannot check ignore rules", "path", rel, "error", err)
	}
	if ignored {
		return false, change{}, nil
	}
	c := change{dir: relDir(rel)}
	if dir && ev.Has(fsnotify.Create) {
		w.addOrPoll(ev.Name)
		c.whole = filepath.ToSlash(rel)
	}
	return true, c, nil
}

// rescan adds watches for directories that are now included (after an
// ignore file changed, or lost events).
func (w *Watcher) rescan() {
	if w.fsw != nil {
		w.addOrPoll(w.root)
	}
}

// addOrPoll watches the tree at dir, falling back to polling when the
// watch limit is reached.
func (w *Watcher) addOrPoll(dir string) {
	err := w.addTree(dir)
	switch {
	case err == nil:
	case isWatchLimit(err):
		w.startPolling(err)
	default:
		w.log.Debug("cannot watch directory", "dir", dir, "error", err)
	}
}

// startPolling gives up on inotify after cause (the watch limit).
func (w *Watcher) startPolling(cause error) {
	w.log.Warn("inotify watch limit reached; polling", "error", cause, "interval", w.opts.PollInterval)
	if w.opts.Notice != nil {
		w.opts.Notice(fmt.Sprintf("the inotify watch limit is reached (%v): checking %s for changes every %s instead "+
			"(raise the limit: sysctl fs.inotify.max_user_watches=524288)", cause, w.root, w.opts.PollInterval))
	}
	if w.fsw != nil {
		w.fsw.Close()
		w.fsw = nil
	}
	w.dirs, w.byID = map[string]fileID{}, map[fileID]string{}
	w.polling.Store(true)
	w.record(change{unknown: true}) // what changes from now on is seen by polling only
}

// isWatchLimit reports whether err is inotify's "no space": the per-user
// watch limit (fs.inotify.max_user_watches).
func isWatchLimit(err error) bool { return errors.Is(err, syscall.ENOSPC) }

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
