package executor

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"
	"time"

	"github.com/ferry-ml/ferry/snapshot"
)

// recycleWorkers bounds the files hashed at once while a tree is checked.
const recycleWorkers = 4

// Recycle turns dir, the tree of snapshot snapshotID that an ended run
// worked in and no longer uses (ferry watch --keep-runs, ferry runs
// prune), into a spare tree, and reports whether it did (dir is then
// gone). Only an executor running as root does this: its run trees are
// copies, and one spare costs a copy of every file (for the standard tree
// 200 MB written per run, seconds of disk and CPU beside the run that
// starts), where checking a used tree costs a read of the page cache.
//
// The run may have changed anything, so every file is checked against
// the snapshot: a regular file must have its size, the permission bits a
// copy gets, one link (no name outside the tree reaches it) and content
// whose SHA-256 is its blob; a symlink its target; anything the snapshot
// lacks (outputs/, __pycache__) is deleted and every directory made 0755.
// Files that fail are copied again; if more than half fail, the tree is
// not recycled. No path is followed out of dir.
func (s *Store) Recycle(snapshotID, dir string) bool {
	if !s.copyTrees || s.spareCount() >= maxSpares {
		return false // more would only be trimmed (ferry runs prune of many runs)
	}
	m, err := s.Manifest(snapshotID)
	if err != nil {
		return false
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return false
	}
	defer root.Close()
	bad, err := s.checkUsedTree(root, m)
	if err == nil && 2*len(bad) > len(m.Entries) {
		err = errors.New("more than half of the files changed")
	}
	if err == nil {
		err = s.repairAndKeep(root, dir, m, bad)
	}
	if err != nil {
		s.log.Debug("run tree not recycled", "snapshot", m.ID().Short(), "changed", len(bad), "error", err)
		return false
	}
	s.log.Debug("run tree recycled as a spare", "snapshot", m.ID().Short(), "copied_again", len(bad))
	s.trimSpares()
	return true
}

// repairAndKeep copies the bad entries of m into the tree at dir again
// and moves it among the spare trees.
func (s *Store) repairAndKeep(root *os.Root, dir string, m *snapshot.Manifest, bad []snapshot.Entry) error {
	if err := removeEntries(root, bad); err != nil {
		return err
	}
	if err := s.materialize(context.Background(), &snapshot.Manifest{Entries: bad}, root); err != nil {
		return err
	}
	now := time.Now()
	_ = os.Chtimes(dir, now, now) // trimSpares keeps the newest
	return os.Rename(dir, s.path(SparesDir, m.ID().String()+"."+randName()))
}

// checkUsedTree deletes what the snapshot lacks from the tree under root,
// makes its directories 0755 and returns the entries of m that are
// missing or no longer what m says.
func (s *Store) checkUsedTree(root *os.Root, m *snapshot.Manifest) ([]snapshot.Entry, error) {
	want := make(map[string]int, len(m.Entries))
	dirs := map[string]bool{".": true}
	for i := range m.Entries {
		want[m.Entries[i].Path] = i
		for d := path.Dir(m.Entries[i].Path); !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	seen := make([]bool, len(m.Entries))
	var extras []string
	var files []int // regular files to hash
	var bad []snapshot.Entry
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if !dirs[p] {
				extras = append(extras, p)
				return fs.SkipDir
			}
			return root.Chmod(p, 0o755)
		}
		i, ok := want[p]
		if !ok {
			extras = append(extras, p)
			return nil
		}
		seen[i] = true
		e := &m.Entries[i]
		if !s.usedEntryIntact(root, p, d, e) {
			bad = append(bad, *e)
		} else if !e.IsSymlink() {
			files = append(files, i)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, p := range extras {
		if err := root.RemoveAll(p); err != nil {
			return nil, err
		}
	}
	for i := range m.Entries {
		if !seen[i] {
			bad = append(bad, m.Entries[i])
		}
	}
	changed := make([]bool, len(files))
	err = parallel(context.Background(), recycleWorkers, len(files), func(k int) error {
		changed[k] = !contentIs(root, &m.Entries[files[k]])
		return nil
	})
	for k, c := range changed {
		if c {
			bad = append(bad, m.Entries[files[k]])
		}
	}
	return bad, err
}

// usedEntryIntact checks what lstat and readlink tell of entry e at p.
func (s *Store) usedEntryIntact(root *os.Root, p string, d fs.DirEntry, e *snapshot.Entry) bool {
	if e.IsSymlink() {
		link, err := root.Readlink(p)
		return d.Type()&fs.ModeSymlink != 0 && err == nil && link == e.Link
	}
	fi, err := d.Info()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != e.Size {
		return false
	}
	perm := e.Mode.Perm()
	if perm&0o111 == 0 {
		perm = 0o444 // as copyBlob makes it
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Nlink == 1 && fi.Mode().Perm() == perm
}

// contentIs reports whether the regular file of e under root has e's
// content.
func contentIs(root *os.Root, e *snapshot.Entry) bool {
	f, err := root.OpenFile(e.Path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return err == nil && n == e.Size && snapshot.BlobID(h.Sum(nil)) == e.Blob
}
