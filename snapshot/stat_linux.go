package snapshot

import (
	"io/fs"
	"syscall"

	"github.com/ferry-ml/ferry/internal/fsutil"
)

// keyOf returns the stat cache key of an lstat result from os.Lstat.
func keyOf(fi fs.FileInfo) fileKey {
	if li, ok := fi.(*lstatInfo); ok {
		return li.key()
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fallbackKey(fi)
	}
	return keyOfStat(st)
}

// lstatKey lstats path without allocating a FileInfo (it is on the hashing
// hot path, once per file read).
func lstatKey(path string) (fileKey, error) {
	var st syscall.Stat_t
	if err := fsutil.Lstat(path, &st); err != nil {
		return fileKey{}, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	return keyOfStat(&st), nil
}

func keyOfStat(st *syscall.Stat_t) fileKey {
	return fileKey{
		Size:  st.Size,
		Mtime: st.Mtim.Nano(),
		Ctime: st.Ctim.Nano(),
		Ino:   st.Ino,
		Mode:  unixMode(uint32(st.Mode)),
	}
}
