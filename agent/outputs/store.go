package outputs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Store is a directory of blobs named by their SHA-256. It is safe for
// concurrent use by several goroutines and processes: every blob is written
// to a temporary file and renamed into place only once its hash is verified.
type Store struct {
	dir string
}

// CorruptError reports content whose SHA-256 is not the blob id it was
// stored or read under. Nothing is stored when Put returns it.
type CorruptError struct {
	ID     string // the expected blob id
	Actual string // the SHA-256 of the bytes received
}

// Error implements error.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("blob %s is corrupt: content hashes to %s", short(e.ID), short(e.Actual))
}

// ErrMissing is returned (wrapped) when a blob is not in the store.
var ErrMissing = errors.New("blob not in store")

// Open opens the store in dir, creating dir (0700) if needed.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create blob store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Has reports whether the blob id is present. An invalid id is never present.
func (s *Store) Has(id string) bool {
	if ValidID(id) != nil {
		return false
	}
	fi, err := os.Stat(s.path(id))
	return err == nil && fi.Mode().IsRegular()
}

// Put stores the content read from r as blob id. The content is written to a
// temporary file, synced, and renamed into place only when its SHA-256
// equals id; otherwise nothing is stored and a *CorruptError is returned.
// When the blob is already present Put returns nil without reading r.
func (s *Store) Put(id string, r io.Reader) error {
	if err := ValidID(id); err != nil {
		return err
	}
	if s.Has(id) {
		return nil
	}
	shard := filepath.Join(s.dir, id[:2])
	if err := os.MkdirAll(shard, 0o700); err != nil {
		return fmt.Errorf("store blob %s: %w", short(id), err)
	}
	tmp, err := os.CreateTemp(shard, ".tmp-"+id[:8]+"-*")
	if err != nil {
		return fmt.Errorf("store blob %s: %w", short(id), err)
	}
	if err := writeVerified(tmp, id, r); err != nil {
		return errors.Join(err, os.Remove(tmp.Name()))
	}
	if err := os.Rename(tmp.Name(), s.path(id)); err != nil {
		return errors.Join(fmt.Errorf("store blob %s: %w", short(id), err), os.Remove(tmp.Name()))
	}
	return nil
}

// OpenBlob opens blob id for reading. A missing blob is an error wrapping
// ErrMissing. The caller closes the file.
func (s *Store) OpenBlob(id string) (*os.File, error) {
	if err := ValidID(id); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open blob %s: %w", short(id), ErrMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", short(id), err)
	}
	return f, nil
}

// path is where blob id lives.
func (s *Store) path(id string) string {
	return filepath.Join(s.dir, id[:2], id)
}

// writeVerified copies r into f while hashing, syncs and closes f, and
// checks the hash against id. f is always closed.
func writeVerified(f *os.File, id string, r io.Reader) error {
	h := sha256.New()
	_, err := io.Copy(io.MultiWriter(f, h), r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store blob %s: %w", short(id), err)
	}
	if actual := hex.EncodeToString(h.Sum(nil)); actual != id {
		return &CorruptError{ID: id, Actual: actual}
	}
	return nil
}

// ValidID checks that id is a SHA-256 digest in lower-case hex.
func ValidID(id string) error {
	if len(id) != 2*sha256.Size {
		return fmt.Errorf("invalid blob id %q: want 64 hex digits", id)
	}
	for _, c := range []byte(id) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("invalid blob id %q: want lower-case hex", id)
		}
	}
	return nil
}

// short abbreviates a blob id for messages.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
