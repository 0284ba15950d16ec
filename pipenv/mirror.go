package pipenv

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Mirror copies into dir, at the same relative places, every file the
// requirements name and read from root: the requirement files, the local
// archives, --find-links folders and the folders installed by path or
// editable. Building from dir then sees what a build from root sees; an
// editable install ("-e .") refers to dir's copy, which lasts as long as
// the caller keeps it, instead of to root (a run's working directory).
// Links are copied as links; dir is emptied first.
func (q *Requirements) Mirror(root, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clear %s: %w", dir, err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return fmt.Errorf("open source directory: %w", err)
	}
	defer r.Close()
	var names []string
	for n := range q.Lines {
		names = append(names, n)
	}
	for n := range q.Local {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range slices.Compact(names) {
		if err := copyTree(r.FS(), n, dir); err != nil {
			return fmt.Errorf("copy %s: %w", n, unwrapPath(err))
		}
	}
	return nil
}

// copyTree copies the file, link or folder name of fsys under dir.
func copyTree(fsys fs.FS, name, dir string) error {
	return fs.WalkDir(fsys, name, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dest := filepath.Join(dir, filepath.FromSlash(p))
		switch {
		case d.IsDir():
			return os.MkdirAll(dest, 0o700)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := fs.ReadLink(fsys, p)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
				return err
			}
			return os.Symlink(target, dest)
		case d.Type().IsRegular():
			data, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			mode := fs.FileMode(0o600)
			if info, err := d.Info(); err == nil && info.Mode()&0o111 != 0 {
				mode = 0o700
			}
			if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
				return err
			}
			return os.WriteFile(dest, data, mode)
		}
		return nil
	})
}
