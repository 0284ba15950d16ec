package executor

import (
	"errors"
	"fmt"
	"os"
	"path"

	"github.com/ferry-ml/ferry/snapshot"
	"golang.org/x/sys/unix"
)

// openDirs opens, through root, every directory that holds an entry, so
// that links are made relative to a directory handle that cannot be
// outside root.
func openDirs(root *os.Root, entries []snapshot.Entry) (map[string]*os.File, error) {
	dirs := map[string]*os.File{}
	for i := range entries {
		d := path.Dir(entries[i].Path)
		if _, ok := dirs[d]; ok {
			continue
		}
		f, err := root.Open(d)
		if err != nil {
			closeDirs(dirs)
			return nil, fmt.Errorf("materialize directory %q: %w", d, err)
		}
		dirs[d] = f
	}
	return dirs, nil
}

func closeDirs(dirs map[string]*os.File) {
	for _, f := range dirs {
		f.Close()
	}
}

// linkBlob hardlinks the blob of e into dir (the handle of e's parent),
// falling back to a copy where links are impossible.
func (s *Store) linkBlob(root *os.Root, dir *os.File, e *snapshot.Entry) error {
	err := unix.Linkat(unix.AT_FDCWD, s.blobPath(e.Blob), int(dir.Fd()), path.Base(e.Path), 0)
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EMLINK) || errors.Is(err, unix.EPERM) {
		return s.copyBlob(root, e)
	}
	return fmt.Errorf("materialize %q: link blob %s: %w", e.Path, e.Blob.Short(), err)
}
