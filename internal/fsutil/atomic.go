package fsutil

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNotRegular is returned when an atomic write would replace something
// that is not a regular file (a symlink, a device, a FIFO, a directory):
// renaming over it would turn, say, /dev/null into a plain file.
var ErrNotRegular = errors.New("not a regular file")

// WriteFileAtomic writes data to name with WriteAtomic.
func WriteFileAtomic(name string, data []byte, perm os.FileMode) error {
	return WriteAtomic(name, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteAtomic replaces name with what write produces, so that a reader
// sees either the old content or the new, never a partial file, and a
// crash after it returns keeps the new content. It is the one writer every
// persistent file in ferry goes through (restic's sftp Save, with the
// fsyncs added):
//
//  1. refuse if name exists and is not a regular file (ErrNotRegular);
//  2. open a unique temp name beside name with O_CREATE|O_EXCL, 0600,
//     and chmod it to perm while it is still empty;
//  3. write, fsync the file, close;
//  4. rename it over name, then fsync the folder so the rename survives.
//
// The parent folder is created 0700 when missing. On any error the temp
// file is removed and name is left as it was.
func WriteAtomic(name string, perm os.FileMode, write func(io.Writer) error) error {
	dir := filepath.Dir(name)
	if err := MkdirPrivate(dir); err != nil {
		return err
	}
	return WriteAtomicVia(dir, "."+filepath.Base(name)+".tmp-", name, perm, write)
}

// WriteAtomicVia is WriteAtomic with the temp file created as
// tmpDir/tmpPrefix<random>, for stores that keep temp files in a folder of
// their own (swept at start) rather than beside their data. tmpDir must be
// on name's file system and exist.
func WriteAtomicVia(tmpDir, tmpPrefix, name string, perm os.FileMode, write func(io.Writer) error) error {
	return writeAtomic(tmpDir, tmpPrefix, name, perm, true, write)
}

// WriteCacheFile replaces name with data as WriteFileAtomic does (a reader
// sees the old content or the new), without its two fsyncs: for caches
// that ferry can rebuild, whose readers check what they read (a checksum,
// or a parse) and treat a damaged or empty file as missing. A crash may
// lose the new content; it never leaves a partial file that looks whole.
// fsync costs ~1 ms on a Linux SSD and 10 ms or more on macOS, where Go's
// Sync is F_FULLFSYNC.
func WriteCacheFile(name string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(name)
	if err := MkdirPrivate(dir); err != nil {
		return err
	}
	return writeAtomic(dir, "."+filepath.Base(name)+".tmp-", name, perm, false, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func writeAtomic(tmpDir, tmpPrefix, name string, perm os.FileMode, durable bool, write func(io.Writer) error) (err error) {
	if err := checkReplaceable(name); err != nil {
		return err
	}
	f, err := createUnique(tmpDir, tmpPrefix)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("chmod %s: %w", f.Name(), err)
	}
	if err := write(f); err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if durable {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", f.Name(), err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("rename into %s: %w", name, err)
	}
	if !durable {
		return nil
	}
	return SyncDir(filepath.Dir(name))
}

// SyncDir fsyncs the folder dir, making renames and creations in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open folder %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

// checkReplaceable returns ErrNotRegular when name exists and is not a
// regular file; a missing name is fine.
func checkReplaceable(name string) error {
	st, err := os.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("replace %s (%s): %w", name, st.Mode().Type(), ErrNotRegular)
	}
	return nil
}

// createUnique opens a new file prefix+<random> in dir with O_EXCL, so it
// never opens a file (or follows a link) someone else put there.
func createUnique(dir, prefix string) (*os.File, error) {
	for range 10 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("random temp name: %w", err)
		}
		name := filepath.Join(dir, prefix+hex.EncodeToString(b[:]))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create temp file: %w", err)
		}
		return f, nil
	}
	return nil, fmt.Errorf("create temp file in %s: too many collisions", dir)
}
