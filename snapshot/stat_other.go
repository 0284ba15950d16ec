//go:build !linux && !darwin

package snapshot

import (
	"io/fs"
	"os"
)

// keyOf returns the stat cache key of an lstat result. Without ctime and
// inode numbers the cache relies on size, mtime and mode alone.
func keyOf(fi fs.FileInfo) fileKey { return fallbackKey(fi) }

// lstatKey lstats path.
func lstatKey(path string) (fileKey, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return fileKey{}, err
	}
	return fallbackKey(fi), nil
}
