//go:build !linux

package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// lstatEntries lstats the kept entries of directory abs by full path.
// Entries that vanished, or that are no longer a regular file or symlink,
// are dropped.
func lstatEntries(_ *os.File, abs string, keep []keptEntry) ([]WalkEntry, error) {
	files := make([]WalkEntry, 0, len(keep))
	for _, k := range keep {
		fi, err := os.Lstat(abs + "/" + k.name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("stat entries: %w", err)
		}
		if fi.Mode().IsRegular() || fi.Mode()&fs.ModeSymlink != 0 {
			files = append(files, WalkEntry{Path: k.rel, Info: fi})
		}
	}
	return files, nil
}

// readDirEntries lists the open directory d.
func readDirEntries(d *os.File) ([]dirEntry, error) {
	ents, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	out := make([]dirEntry, len(ents))
	for i, e := range ents {
		out[i] = dirEntry{name: e.Name(), typ: e.Type()}
	}
	return out, nil
}

// openDir opens a directory for ReadDir.
func openDir(abs string) (*os.File, error) { return os.Open(abs) }
