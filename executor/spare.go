package executor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ferry-ml/ferry/snapshot"
	"golang.org/x/sys/unix"
)

// Spare trees make a run directory appear at the cost of a rename.
//
// After a run's directory is materialised, the store builds one more tree
// of the same snapshot in the background under spares/ (hardlinks, like any
// run directory). The next run takes it: if its snapshot is the same, the
// tree is renamed into place; if it differs (the edit-run loop: one file
// changed), only the difference is applied first. Linking 10,000 files
// costs 0.25-0.5 s on the disks measured here; taking a spare costs one
// lstat per file (to check it) plus the changed files.
//
// A spare is used only if every linked file still is the inode the store
// verified, with the size and mtime the index recorded: a blob that a run
// rewrote through its hardlink is never carried into the next run.
//
// A root executor's trees are copies, which cost seconds for a big tree:
// there the tree of a removed run is checked and kept as a spare instead
// (recycle.go), and no copy is built while such a spare is left.
const (
	// SparesDir holds spare trees, relative to the state directory.
	SparesDir = "spares"
	// maxSpares bounds the spare trees kept (the newest win).
	maxSpares = 2
)

// spares builds spare trees one at a time; wg tracks the builder.
type spares struct {
	mu       sync.Mutex
	building bool
	closed   bool
	of       *snapshot.Manifest // the snapshot being built, while building
	built    chan struct{}      // closed when the build in progress ends
	wg       sync.WaitGroup
	taken    atomic.Int64 // spare trees used, for tests and diagnostics
	hold     func()       // tests: called as a build starts
}

// awaitSpare waits for the spare tree being built, when it is of a snapshot
// close to m (at most half of m's files differ), and reports whether it
// waited for one to end. A run that finds no spare tree waits rather than
// makes its tree from scratch while the spare is made beside it: when runs
// follow one another faster than a tree is made (ferry watch, copies of
// 10,000 files by a root executor), the two would compete for the disk
// and both take several times as long.
func (s *Store) awaitSpare(ctx context.Context, m *snapshot.Manifest) bool {
	s.spare.mu.Lock()
	of, built := s.spare.of, s.spare.built
	s.spare.mu.Unlock()
	if of == nil {
		return false
	}
	if !closeTo(of, m) {
		return false
	}
	select {
	case <-built:
		return true
	case <-ctx.Done():
		return false
	}
}

// takeSpare moves a spare tree holding snapshot m into dir (an empty
// directory), reporting whether it did.
func (s *Store) takeSpare(ctx context.Context, m *snapshot.Manifest, dir string) bool {
	names, _ := os.ReadDir(s.path(SparesDir))
	for i := len(names) - 1; i >= 0; i-- {
		base, _, ok := strings.Cut(names[i].Name(), ".")
		if !ok || strings.HasPrefix(names[i].Name(), ".") {
			continue
		}
		claimed := s.path(SparesDir, ".taken-"+randName())
		if os.Rename(s.path(SparesDir, names[i].Name()), claimed) != nil {
			continue // another run took it
		}
		err := s.adaptSpare(ctx, base, m, claimed)
		if err == nil {
			// rename(2) replaces the empty run directory atomically
			// (os.Rename refuses to replace a directory).
			err = unix.Rename(claimed, dir)
		}
		if err == nil {
			s.spare.taken.Add(1)
			return true
		}
		s.log.Debug("spare tree not usable", "spare", names[i].Name(), "error", err)
		os.RemoveAll(claimed)
	}
	return false
}

// adaptSpare checks the spare tree of snapshot baseID at tree and turns it
// into snapshot m.
func (s *Store) adaptSpare(ctx context.Context, baseID string, m *snapshot.Manifest, tree string) error {
	base := m
	if baseID != m.ID().String() {
		var err error
		if base, err = s.Manifest(baseID); err != nil {
			return err
		}
	}
	ch := snapshot.Diff(base, m)
	changed := make(map[string]bool, len(ch.Changed)+len(ch.Removed))
	for _, e := range append(ch.Changed, ch.Removed...) {
		changed[e.Path] = true
	}
	root, err := os.OpenRoot(tree)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := s.checkSpare(root, base, changed); err != nil {
		return err
	}
	if err := removeEntries(root, append(ch.Changed, ch.Removed...)); err != nil {
		return err
	}
	return s.materialize(ctx, &snapshot.Manifest{Entries: append(ch.Added, ch.Changed...)}, root)
}

// checkSpare verifies that every linked file of base in the tree (but
// those about to be replaced) is still the blob the store trusts. A tree
// of copies (copyTrees) shares nothing a run could have written. Files
// are stat'ed relative to directory handles opened through root, so a
// tampered tree cannot point the check outside it.
func (s *Store) checkSpare(root *os.Root, base *snapshot.Manifest, skip map[string]bool) error {
	if s.copyTrees {
		return nil // copies, private to the spares folder until taken
	}
	dirs, err := openDirs(root, base.Entries)
	if err != nil {
		return err
	}
	defer closeDirs(dirs)
	for i := range base.Entries {
		e := &base.Entries[i]
		if skip[e.Path] || e.IsSymlink() || e.Mode.Perm()&0o111 != 0 {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(int(dirs[path.Dir(e.Path)].Fd()), path.Base(e.Path), &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("stat %s: %w", e.Path, err)
		}
		known, ok := s.idx.lookup(e.Blob)
		if !ok {
			known, ok = s.pendingStat(e.Blob)
		}
		got := blobStat{size: st.Size, ino: st.Ino, mtime: st.Mtim.Nano()}
		if !ok || got != known || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o7777 != 0o444 {
			return fmt.Errorf("%s is no longer the verified blob %s", e.Path, e.Blob.Short())
		}
	}
	return nil
}

// removeEntries deletes entries (files and symlinks) from the tree, then
// the directories that became empty.
func removeEntries(root *os.Root, entries []snapshot.Entry) error {
	dirs := map[string]bool{}
	for _, e := range entries {
		if err := root.Remove(e.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		for d := path.Dir(e.Path); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	list := make([]string, 0, len(dirs))
	for d := range dirs {
		list = append(list, d)
	}
	sort.Slice(list, func(i, j int) bool { return len(list[i]) > len(list[j]) }) // deepest first
	for _, d := range list {
		root.Remove(d) // fails, as it should, while the directory holds anything
	}
	return nil
}

// refillSpare builds a spare tree of snapshot m in the background, unless
// one is being built; it keeps the newest maxSpares trees.
func (s *Store) refillSpare(m *snapshot.Manifest) {
	if s.copyTrees && s.hasCloseSpare(m) {
		// A recycled run tree (Recycle) is there already: another copy of
		// every file would only compete with the run that starts now.
		return
	}
	s.spare.mu.Lock()
	if s.spare.building || s.spare.closed {
		s.spare.mu.Unlock()
		return
	}
	s.spare.building = true
	s.spare.of, s.spare.built = m, make(chan struct{})
	built := s.spare.built
	s.spare.wg.Add(1)
	s.spare.mu.Unlock()
	go func() {
		defer s.spare.wg.Done()
		defer func() {
			s.spare.mu.Lock()
			s.spare.building, s.spare.of = false, nil
			s.spare.mu.Unlock()
			close(built)
		}()
		if err := s.buildSpare(m); err != nil {
			s.log.Debug("spare tree not built", "snapshot", m.ID().Short(), "error", err)
		}
	}()
}

// closeTo reports whether a tree of snapshot a is worth adapting into m:
// at most half of m's files differ.
func closeTo(a, m *snapshot.Manifest) bool {
	ch := snapshot.Diff(a, m)
	return 2*(len(ch.Added)+len(ch.Changed)+len(ch.Removed)) <= len(m.Entries)
}

// spareCount counts the complete spare trees.
func (s *Store) spareCount() int {
	names, _ := os.ReadDir(s.path(SparesDir))
	n := 0
	for _, e := range names {
		if !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return n
}

// hasCloseSpare reports whether a spare tree of a snapshot close to m (at
// most half of m's files differ) is there to be taken.
func (s *Store) hasCloseSpare(m *snapshot.Manifest) bool {
	names, _ := os.ReadDir(s.path(SparesDir))
	for _, n := range names {
		base, _, ok := strings.Cut(n.Name(), ".")
		if !ok || strings.HasPrefix(n.Name(), ".") {
			continue
		}
		if base == m.ID().String() {
			return true
		}
		if b, err := s.Manifest(base); err == nil && closeTo(b, m) {
			return true
		}
	}
	return false
}

func (s *Store) buildSpare(m *snapshot.Manifest) error {
	if s.spare.hold != nil {
		s.spare.hold()
	}
	if err := os.MkdirAll(s.path(SparesDir), 0o700); err != nil {
		return err
	}
	tmp := s.path(SparesDir, ".building-"+randName())
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(tmp)
	if err == nil {
		err = s.materialize(context.Background(), m, root)
		root.Close()
	}
	if err == nil {
		err = os.Rename(tmp, s.path(SparesDir, m.ID().String()+"."+randName()))
	}
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return s.trimSpares()
}

// trimSpares removes all but the newest maxSpares complete spare trees,
// and trees left half-built or half-taken by a crash.
func (s *Store) trimSpares() error {
	ents, err := os.ReadDir(s.path(SparesDir))
	if err != nil {
		return err
	}
	type spare struct {
		name string
		mod  int64
	}
	var done []spare
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if fi, err := e.Info(); err == nil {
			done = append(done, spare{e.Name(), fi.ModTime().UnixNano()})
		}
	}
	slices.SortFunc(done, func(a, b spare) int { return int(b.mod - a.mod) })
	for i := maxSpares; i < len(done); i++ {
		os.RemoveAll(s.path(SparesDir, done[i].name))
	}
	return nil
}

// cleanSpares removes leftovers of a crash (called at start).
func (s *Store) cleanSpares() {
	ents, _ := os.ReadDir(s.path(SparesDir))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			os.RemoveAll(filepath.Join(s.path(SparesDir), e.Name()))
		}
	}
}

func randName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Close waits for a spare tree being built and builds no more.
func (s *Store) Close() error {
	s.spare.mu.Lock()
	s.spare.closed = true
	s.spare.mu.Unlock()
	s.spare.wg.Wait()
	return nil
}
