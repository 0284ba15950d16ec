package executor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Placing a blob: a streamed record is written to an unnamed file
// (O_TMPFILE) in its shard directory and linked under its final name
// once its content matched its id. Against a named temp file renamed into
// place it saves, per blob, a directory entry created and removed in tmp/
// and the cross-directory rename (which takes the file system's rename
// lock), plus the poller and finalizer work of an *os.File: five system
// calls instead of about eleven. A record that fails, or a daemon that
// dies mid-record, leaves nothing behind: the kernel frees an unnamed
// file on its last close.

// writebackMin is the smallest blob whose writeback starts as soon as it
// is written. Smaller ones wait for makeDurable's one syncfs(2), which
// writes them out in a batch; one sync_file_range call each cost more CPU
// than it saved.
const writebackMin = 256 << 10

// canPlace reports whether this file system and kernel take unnamed
// files and link them by their /proc/self/fd name; it tries once, in tmp/.
func canPlace(tmpDir string) bool {
	fd, err := unix.Open(tmpDir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	name := filepath.Join(tmpDir, tmpPrefix+"probe-"+strconv.Itoa(os.Getpid()))
	if err := linkFD(fd, name); err != nil {
		return false
	}
	os.Remove(name)
	return true
}

func linkFD(fd int, name string) error {
	return unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, name, unix.AT_SYMLINK_FOLLOW)
}

// place writes the record read from r (which fails at its end if the
// content does not match id) to its final name and returns its stat. A
// blob already at that name (a racing stream's, or an untrusted leftover)
// is replaced through a named temp file.
func (s *Store) place(id [32]byte, r io.Reader, size int64) (blobStat, error) {
	dst := s.blobPath(id)
	fd, err := unix.Open(filepath.Dir(dst), unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return blobStat{}, fmt.Errorf("create blob: %w", err)
	}
	defer unix.Close(fd)
	if err := copyToFD(fd, r); err != nil {
		return blobStat{}, err
	}
	if size >= writebackMin {
		_ = unix.SyncFileRange(fd, 0, 0, unix.SYNC_FILE_RANGE_WRITE)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return blobStat{}, fmt.Errorf("stat blob: %w", err)
	}
	if st.Mode&0o777 != 0o444 { // a umask took bits off
		if err := unix.Fchmod(fd, 0o444); err != nil {
			return blobStat{}, fmt.Errorf("chmod blob: %w", err)
		}
	}
	err = linkFD(fd, dst)
	if errors.Is(err, unix.EEXIST) {
		err = s.replaceWithFD(fd, dst)
	}
	if err != nil {
		return blobStat{}, fmt.Errorf("link blob into place: %w", err)
	}
	return blobStat{size: st.Size, ino: st.Ino, mtime: st.Mtim.Nano()}, nil
}

var placeSeq atomic.Uint64

// replaceWithFD links fd under a temp name in tmp/ (cleaned on start) and
// renames it over dst.
func (s *Store) replaceWithFD(fd int, dst string) error {
	tmp := s.path(TmpDir, fmt.Sprintf("%sp-%d-%d", tmpPrefix, os.Getpid(), placeSeq.Add(1)))
	if err := linkFD(fd, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// copyToFD copies r to fd through a pooled buffer (materialize.go's).
func copyToFD(fd int, r io.Reader) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		n, rerr := r.Read(buf)
		for w := buf[:n]; len(w) > 0; {
			m, err := unix.Write(fd, w)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return fmt.Errorf("write blob: %w", err)
			}
			w = w[m:]
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}
