package executor

import (
	"io/fs"
	"syscall"

	"github.com/ferry-ml/ferry/internal/fsutil"
)

func statOf(fi fs.FileInfo) blobStat {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return blobStat{size: fi.Size()}
	}
	return blobStatOf(st)
}

// lstatBlob returns what the index keeps of the file at path and whether
// it is a regular file of mode 0444, as a trusted blob is, without the
// FileInfo os.Lstat allocates (a plan checks every blob of a snapshot).
func lstatBlob(path string) (blobStat, bool) {
	var st syscall.Stat_t
	if err := fsutil.Lstat(path, &st); err != nil {
		return blobStat{}, false
	}
	return blobStatOf(&st), st.Mode == syscall.S_IFREG|0o444
}
