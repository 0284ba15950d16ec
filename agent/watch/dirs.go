package watch

import (
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
)

// fileID is a directory's identity: what inotify watches.
type fileID struct{ dev, ino uint64 }

func idOf(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino}, true
}

// addTree watches dir and every included directory under it that is not
// watched yet. A directory created with content already inside needs no
// more: the trigger its own event caused makes the snapshot see it all.
//
// A directory found here that is watched under another path was moved,
// and the events of the move are still queued: its old path is forgotten
// first. inotify gives both paths one watch, so that the old path's
// removal (when its Rename is read, or by fsnotify on IN_MOVE_SELF) would
// otherwise end the watch of the new one unseen.
func (w *Watcher) addTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished meanwhile: its removal is an event of its own
		}
		if !d.IsDir() {
			return nil
		}
		if path != w.root {
			rel, _ := filepath.Rel(w.root, path)
			if ign, _ := w.ign.Ignored(rel, true); ign {
				return filepath.SkipDir
			}
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		id, ok := idOf(fi)
		if old, watched := w.dirs[path]; watched && old == id && ok {
			return nil
		}
		if other, seen := w.byID[id]; seen && ok && other != path {
			w.forget(other)
		}
		if _, watched := w.dirs[path]; watched {
			w.forget(path) // another directory now stands here
		}
		if err := w.opts.addWatch(w.fsw, path); err != nil {
			if isWatchLimit(err) {
				return err
			}
			w.log.Debug("cannot watch directory", "dir", path, "error", err)
			return nil
		}
		w.dirs[path] = id
		if ok {
			w.byID[id] = path
		}
		return nil
	})
}

// forget drops dir and everything under it from the watch set (inotify
// has removed or will remove the kernel watches; a moved directory
// reappears under its new name as a Create event).
func (w *Watcher) forget(dir string) {
	prefix := dir + string(filepath.Separator)
	for p, id := range w.dirs {
		if p == dir || strings.HasPrefix(p, prefix) {
			delete(w.dirs, p)
			if w.byID[id] == p {
				delete(w.byID, id)
			}
			if w.fsw != nil {
				_ = w.fsw.Remove(p) // already gone from the kernel, most often
			}
		}
	}
}
