package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// removingDirName, beside the runs directory, holds the directories of
// removed runs until they are deleted: a run leaves runs/ with one
// rename, and a crash while its files are deleted leaves nothing a later
// load could take for a run.
const removingDirName = "runs.removing"

// ErrRunGoing is returned by Remove for a run that has not ended.
var ErrRunGoing = errors.New("run has not ended; cancel it first")

// Remove deletes the directory of run id, which has ended, from the target
// (its working tree, log, metrics and outputs/) and forgets the run. The
// directory leaves runs/ with one rename before Remove returns; its files
// are deleted in the background (a tree of 10,000 files takes a second),
// and what a crash leaves of them is deleted when the next runner starts.
// A Recycler may take the working tree first.
func (r *Runner) Remove(id string) error {
	r.mu.Lock()
	st, ok := r.runs[id]
	switch {
	case r.closed:
		r.mu.Unlock()
		return fmt.Errorf("remove run %s: %w", id, ErrClosed)
	case !ok:
		r.mu.Unlock()
		return fmt.Errorf("remove run %s: %w", id, ErrRunNotFound)
	case !st.rec.Status.Terminal():
		r.mu.Unlock()
		return fmt.Errorf("remove run %s: %w", id, ErrRunGoing)
	}
	holder, err := r.removing(id)
	if err == nil {
		if err = os.Rename(st.paths.dir(), filepath.Join(holder, "run")); err != nil {
			os.Remove(holder)
		}
	}
	if err != nil {
		r.mu.Unlock()
		return fmt.Errorf("remove run %s: %w", id, err)
	}
	delete(r.runs, id)
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		if r.cfg.Recycler != nil {
			r.cfg.Recycler.Recycle(st.spec.Snapshot, filepath.Join(holder, "run", workDir))
		}
		if err := removeTree(holder); err != nil {
			r.log.Warn("cannot delete the files of a removed run", "run_id", id, "dir", holder, "error", err)
		}
	}()
	return nil
}

func (r *Runner) removingDir() string {
	return filepath.Join(filepath.Dir(r.runsDir), removingDirName)
}

// removing makes a new empty directory under removingDir for run id's
// directory to be moved into.
func (r *Runner) removing(id string) (string, error) {
	if err := os.MkdirAll(r.removingDir(), 0o700); err != nil {
		return "", err
	}
	return os.MkdirTemp(r.removingDir(), id+".")
}

// removeLeftovers deletes what a crash left of removed runs.
func (r *Runner) removeLeftovers() {
	if err := removeTree(r.removingDir()); err != nil {
		r.log.Warn("cannot delete the files of removed runs", "dir", r.removingDir(), "error", err)
	}
}

// removeTree deletes dir and everything under it, never following a
// symlink. A script may have left directories without write permission
// (root needs none; the executor's own user does): those are made
// writable for their owner, through an os.Root, so that nothing outside
// dir is ever touched, and the removal is tried again.
func removeTree(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	root, rerr := os.OpenRoot(dir)
	if rerr != nil {
		return err
	}
	defer root.Close()
	// WalkDir calls fn for a directory before it reads it, so a directory
	// made 0700 there is read next.
	_ = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, _ error) error {
		if d != nil && d.IsDir() {
			_ = root.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
