package watch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-ml/ferry/snapshot"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"
)

// Trees keeps a Watcher on each source directory that commands snapshot,
// so that a snapshot of a tree in which nothing changed needs no walk: the
// keeper answers a command's tree request with Token, and the snapshot
// reuses the manifest it saved under an equal token (snapshot.Options).
//
// A token vouches for a tree only where inotify sees every change: a local
// file system with no other file system mounted inside the tree (see
// watchable), every included directory watched (no fallback to polling).
// What inotify cannot see is documented in the README: a file changed
// through a hard link from outside the tree, or written through mmap.
type Trees struct {
	parent string // where dir is made
	dir    string // private, made on first use: the watchers' barrier directories
	ctx    context.Context
	cancel context.CancelFunc
	max    int
	log    hclog.Logger

	mu    sync.Mutex
	trees map[string]*tree
	// unwatchable remembers roots refused, and until when, so that a tree
	// over the watch limit is not walked twice per command.
	unwatchable map[string]time.Time

	// addWatch replaces fsnotify's Add (tests make it fail with ENOSPC).
	addWatch func(w *fsnotify.Watcher, dir string) error
}

// tree is one watched root.
type tree struct {
	w      *Watcher
	dir    os.FileInfo // root's directory when the watch began
	id     string      // random: a new watcher's generations start over
	used   time.Time
	cancel context.CancelFunc
	done   chan struct{} // closed when the watcher stopped and closed
}

// DefaultMaxTrees bounds the trees watched at once (each takes one
// inotify instance of the user's 128 and a watch per directory).
const DefaultMaxTrees = 8

// retryUnwatchable is how long a root refused (over the watch limit, on a
// file system inotify cannot vouch for) is not tried again.
const retryUnwatchable = 10 * time.Minute

// NewTrees returns an empty set watching at most max trees (0: the
// default); the least recently asked is dropped past it. The watchers'
// barriers (Sync) are made in a private directory under parent, removed
// by Close.
func NewTrees(parent string, max int, logger hclog.Logger) *Trees {
	if max <= 0 {
		max = DefaultMaxTrees
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Trees{parent: parent, ctx: ctx, cancel: cancel, max: max, log: logger.Named("trees"),
		trees: map[string]*tree{}, unwatchable: map[string]time.Time{}}
}

// Token returns a token naming the state of the tree at root (absolute):
// a token asked later is equal only if nothing that a snapshot of root
// includes changed in between, as far as inotify saw. Every change made
// before Token was called is counted first (Watcher.Sync). The first
// request for a root starts its watcher; "" means that root cannot be
// vouched for now (a snapshot must walk it).
func (t *Trees) Token(root string) (string, error) {
	c, err := t.Changes(root, "")
	return c.Token, err
}

// Changes returns Token and, when since is an earlier token of the same
// watcher and its journal names them, the directories in which something
// a snapshot includes changed after since: a snapshot saved under since
// then needs only those directories read again (snapshot.Options.Tree).
func (t *Trees) Changes(root, since string) (snapshot.TreeChanges, error) {
	if !filepath.IsAbs(root) || filepath.Clean(root) != root {
		return snapshot.TreeChanges{}, fmt.Errorf("tree %q: want a clean absolute path", root)
	}
	tr, err := t.get(root)
	if err != nil || tr == nil {
		return snapshot.TreeChanges{}, err
	}
	ctx, cancel := context.WithTimeout(t.ctx, syncWait)
	defer cancel()
	if err := tr.w.Sync(ctx); err != nil {
		t.log.Debug("no tree token", "root", root, "error", err)
		return snapshot.TreeChanges{}, nil
	}
	id, g, hasSince := strings.Cut(since, ".")
	from, perr := strconv.ParseUint(g, 10, 64)
	gen, dirs, whole, known := tr.w.Changes(from)
	// Polling and Lost are read after the generation: a watcher that
	// starts polling, or that lost events, says so before its generation
	// moves, so a token taken before that never equals one taken after,
	// and none is given after.
	if tr.w.Polling() || tr.w.Lost() {
		return snapshot.TreeChanges{}, nil
	}
	c := snapshot.TreeChanges{Token: fmt.Sprintf("%s.%d", tr.id, gen)}
	if hasSince && perr == nil && id == tr.id && known {
		c.Known, c.Dirs, c.Whole = true, dirs, whole
	}
	return c, nil
}

// syncWait bounds the wait for the watcher to catch up with inotify's
// queue; past it the snapshot walks.
const syncWait = 2 * time.Second

// get returns root's watcher, started if needed; nil: none can vouch for
// root now.
func (t *Trees) get(root string) (*tree, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctx.Err() != nil {
		return nil, errors.New("trees closed")
	}
	tr := t.trees[root]
	if tr != nil && !tr.still(root) {
		t.drop(root) // replaced, or reached through a symlink changed since
		tr = nil
	}
	if tr != nil && (tr.stopped() || tr.w.Polling() || tr.w.Lost()) {
		// Over the watch limit: not tried again for a while. Lost events,
		// or a root gone: a new watcher starts over at once.
		if tr.w.Polling() {
			t.unwatchable[root] = time.Now().Add(retryUnwatchable)
		}
		t.drop(root)
		tr = nil
	}
	if tr == nil {
		if until, ok := t.unwatchable[root]; ok && time.Now().Before(until) {
			return nil, nil
		}
		delete(t.unwatchable, root)
		var err error
		if tr, err = t.start(root); err != nil {
			return nil, err
		}
		if tr == nil {
			t.unwatchable[root] = time.Now().Add(retryUnwatchable)
			return nil, nil
		}
	}
	tr.used = time.Now()
	return tr, nil
}

// start watches root, dropping the least recently asked tree past max.
// A nil tree with a nil error: root is not one inotify can vouch for.
func (t *Trees) start(root string) (*tree, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if why := watchable(root); why != "" {
		t.log.Debug("not watching tree", "root", root, "reason", why)
		return nil, nil
	}
	if t.dir == "" {
		if err := os.MkdirAll(t.parent, 0o700); err != nil {
			return nil, fmt.Errorf("tree watch: %w", err)
		}
		dir, err := os.MkdirTemp(t.parent, "trees-")
		if err != nil {
			return nil, fmt.Errorf("tree watch: %w", err)
		}
		t.dir = dir
	}
	bdir, err := os.MkdirTemp(t.dir, "barrier-")
	if err != nil {
		return nil, fmt.Errorf("tree watch: %w", err)
	}
	w, err := NewWatcher(root, WatcherOptions{KeepScratch: true, BarrierDir: bdir,
		Logger: t.log.With("root", root), addWatch: t.addWatch})
	if err != nil {
		os.RemoveAll(bdir)
		return nil, err
	}
	if w.Polling() {
		w.Close()
		os.RemoveAll(bdir)
		return nil, nil
	}
	var b [8]byte
	rand.Read(b[:])
	ctx, cancel := context.WithCancel(t.ctx)
	tr := &tree{w: w, dir: fi, id: hex.EncodeToString(b[:]), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(tr.done)
		defer os.RemoveAll(bdir)
		defer w.Close()                           // here: Run owns the watcher until it returns
		err := w.Run(ctx, make(chan struct{}, 1)) // triggers unread: only the generation counts
		if ctx.Err() == nil {
			t.log.Debug("tree watcher stopped", "root", root, "error", err)
		}
	}()
	for len(t.trees) >= t.max {
		t.drop(t.oldest())
	}
	t.trees[root] = tr
	t.log.Debug("watching tree", "root", root)
	return tr, nil
}

func (t *Trees) oldest() string {
	var root string
	var at time.Time
	for r, tr := range t.trees {
		if root == "" || tr.used.Before(at) {
			root, at = r, tr.used
		}
	}
	return root
}

// drop stops watching root (t.mu held).
func (t *Trees) drop(root string) {
	if tr := t.trees[root]; tr != nil {
		delete(t.trees, root)
		tr.cancel()
	}
}

// still reports whether the watch still covers what root names: the
// same directory (not one moved in its place, or reached through a symlink
// that now points elsewhere), on a file system inotify vouches for, with
// nothing mounted inside it since.
func (tr *tree) still(root string) bool {
	fi, err := os.Stat(root)
	return err == nil && os.SameFile(fi, tr.dir) && watchable(root) == ""
}

func (tr *tree) stopped() bool {
	select {
	case <-tr.done:
		return true
	default:
		return false
	}
}

// Close stops every watcher and waits for them to let go of inotify.
func (t *Trees) Close() {
	t.cancel()
	t.mu.Lock()
	trees, dir := t.trees, t.dir
	t.trees = map[string]*tree{}
	t.mu.Unlock()
	for _, tr := range trees {
		<-tr.done
	}
	if dir != "" {
		os.RemoveAll(dir)
	}
}
