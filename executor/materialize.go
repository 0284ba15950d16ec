package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"

	"github.com/ferry-ml/ferry/snapshot"
)

// materializeWorkers bounds the files copied at once. Copies are
// copy_file_range(2) calls, so this is about keeping the disk busy, not
// the CPUs.
const materializeWorkers = 8

// Materialize recreates the files of a stored snapshot under dir, which
// must not exist or be empty: regular files with their permission bits,
// symlinks as symlinks (never followed), directories 0755. All writes go
// through an os.Root opened on dir, so no path in a manifest, and no
// symlink in the tree, can make it write outside dir. Symlinks are created
// last, so no file is ever written through one.
//
// Files without an execute bit are hardlinks to their verified blob, so
// they are read-only (0444) in the run directory. Creating a file with
// content costs about 0.7 ms on the ext4 disks measured here, a link about
// 0.05 ms: copying the standard 10,020-file tree took 7.5 s, linking it
// 0.5 s, and a run must start in well under a second. A run that chmods
// and rewrites such a file changes the blob's mode or mtime, so the store
// no longer trusts it: it is re-hashed, and replaced if it changed. Files
// with an execute bit, and files on another file system than the store,
// are copied.
//
// Root ignores 0444, so a run as root (on the host, or in a docker
// container, which runs as the executor's uid) could rewrite a blob
// through its link, and concurrent runs and spare trees would see it. An
// executor running as root therefore copies every file: a FICLONE
// reflink where the file system has one (btrfs, XFS: as fast as a link),
// else a copy. The spare tree, built in the background after each run,
// keeps the start of the next run of the same snapshot fast.
func (s *Store) Materialize(ctx context.Context, snapshotID string, dir string) error {
	m, err := s.Manifest(snapshotID)
	if err != nil {
		return err
	}
	if err := prepareEmptyDir(dir); err != nil {
		return err
	}
	defer s.refillSpare(m)
	if s.takeSpare(ctx, m, dir) {
		return nil
	}
	if s.awaitSpare(ctx, m) && s.takeSpare(ctx, m, dir) {
		return nil
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open run directory: %w", err)
	}
	defer root.Close()
	return s.materialize(ctx, m, root)
}

func (s *Store) materialize(ctx context.Context, m *snapshot.Manifest, root *os.Root) error {
	for i := range m.Entries {
		if err := snapshot.CheckPath(m.Entries[i].Path); err != nil {
			return fmt.Errorf("materialize: %w", err)
		}
	}
	if err := makeParents(root, m.Entries); err != nil {
		return err
	}
	dirs, err := openDirs(root, m.Entries)
	if err != nil {
		return err
	}
	defer closeDirs(dirs)
	err = parallel(ctx, materializeWorkers, len(m.Entries), func(i int) error {
		e := &m.Entries[i]
		switch {
		case e.IsSymlink():
			return nil
		case e.Mode.Perm()&0o111 == 0 && !s.copyTrees:
			return s.linkBlob(root, dirs[path.Dir(e.Path)], e)
		default:
			return s.copyBlob(root, e)
		}
	})
	if err != nil {
		return err
	}
	for i := range m.Entries {
		if e := &m.Entries[i]; e.IsSymlink() {
			if err := root.Symlink(e.Link, e.Path); err != nil {
				return fmt.Errorf("materialize symlink %q: %w", e.Path, err)
			}
		}
	}
	return nil
}

// makeParents creates every directory the entries need, parents first.
func makeParents(root *os.Root, entries []snapshot.Entry) error {
	made := map[string]bool{".": true}
	for i := range entries {
		d := path.Dir(entries[i].Path)
		if made[d] {
			continue
		}
		if err := root.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("materialize directory %q: %w", d, err)
		}
		for ; !made[d]; d = path.Dir(d) {
			made[d] = true
		}
	}
	return nil
}

func (s *Store) copyBlob(root *os.Root, e *snapshot.Entry) error {
	src, err := os.Open(s.blobPath(e.Blob))
	if err != nil {
		return fmt.Errorf("materialize %q: open blob %s: %w", e.Path, e.Blob.Short(), err)
	}
	defer src.Close()
	// A copy of a file without an execute bit is 0444 like a link to its
	// blob, so a run sees the same modes whichever it got.
	perm := e.Mode.Perm()
	if perm&0o111 == 0 {
		perm = 0o444
	}
	dst, err := root.OpenFile(e.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("materialize %q: %w", e.Path, err)
	}
	n, err := s.cloneOrCopy(dst, src, e.Size)
	if err == nil && n != e.Size {
		err = fmt.Errorf("blob %s has %d bytes, manifest says %d", e.Blob.Short(), n, e.Size)
	}
	if err == nil {
		err = dst.Chmod(perm) // exact bits, whatever the umask
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("materialize %q: %w", e.Path, err)
	}
	return nil
}

// smallCopy is the size up to which a plain read/write beats
// copy_file_range(2) (measured on ext4: 10,000 x 4 KiB took 5.2 s with
// read/write against 6.9 s with copy_file_range).
const smallCopy = 1 << 20

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}

// copyContent copies src to dst: large files with copy_file_range(2)
// (io.Copy between two *os.File), small ones through a pooled buffer.
func copyContent(dst, src *os.File, size int64) (int64, error) {
	if size > smallCopy {
		return io.Copy(dst, src)
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	// The wrappers hide ReadFrom/WriteTo so that CopyBuffer really uses buf.
	return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *bp)
}

// prepareEmptyDir creates dir (0755) or checks that it is an empty
// directory.
func prepareEmptyDir(dir string) error {
	err := os.Mkdir(dir, 0o755)
	if err == nil || !errors.Is(err, fs.ErrExist) {
		if err != nil {
			return fmt.Errorf("create run directory: %w", err)
		}
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open run directory: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && err != io.EOF {
		return fmt.Errorf("read run directory: %w", err)
	}
	if len(names) > 0 {
		return fmt.Errorf("materialize into %s: directory not empty", dir)
	}
	return nil
}
