package history

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ferry-ml/ferry/internal/fsutil"
)

// ErrNoLog is returned by OpenLog when the history holds no copy of a run's
// log (the run has not ended, or ended before ferry kept logs).
var ErrNoLog = errors.New("no local copy of the run's log")

// Each finished run's log is kept beside the database, gzip-compressed, in
// logs/<run id>.log.gz (0600 in a 0700 folder): ferry logs, ferry show and
// the portal read it with no connection, also once the target is gone.
// A log is written once, after its run has ended, and then only read.

// PutLog stores the log of run id, read from r, replacing any earlier
// copy; the file appears whole or not at all.
func (s *Store) PutLog(id string, r io.Reader) error {
	if err := validFileID(id); err != nil {
		return err
	}
	if err := fsutil.MkdirPrivate(s.logs); err != nil {
		return fmt.Errorf("store log of run %s: %w", id, err)
	}
	err := fsutil.WriteAtomic(s.logPath(id), 0o600, func(w io.Writer) error {
		zw := gzip.NewWriter(w)
		if _, err := io.Copy(zw, r); err != nil {
			return err
		}
		return zw.Close()
	})
	if err != nil {
		return fmt.Errorf("store log of run %s: %w", id, err)
	}
	return nil
}

// OpenLog returns the stored log of run id, decompressed; the caller
// closes it. ErrNoLog (wrapped) when there is none.
func (s *Store) OpenLog(id string) (io.ReadCloser, error) {
	if err := validFileID(id); err != nil {
		return nil, err
	}
	f, err := os.Open(s.logPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("run %s: %w", id, ErrNoLog)
	}
	if err != nil {
		return nil, fmt.Errorf("open log of run %s: %w", id, err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open log of run %s: %w", id, err)
	}
	return &logReader{zr: zr, f: f}, nil
}

// HasLog reports whether the history holds run id's log.
func (s *Store) HasLog(id string) bool {
	if validFileID(id) != nil {
		return false
	}
	_, err := os.Stat(s.logPath(id))
	return err == nil
}

func (s *Store) logPath(id string) string { return filepath.Join(s.logs, id+".log.gz") }

// validFileID refuses ids that would name a file outside the logs or
// metrics folder.
func validFileID(id string) error {
	if id == "" || !filepath.IsLocal(id) || filepath.Base(id) != id {
		return fmt.Errorf("invalid run id %q", id)
	}
	return nil
}

// logReader closes both the gzip stream and its file.
type logReader struct {
	zr *gzip.Reader
	f  *os.File
}

func (l *logReader) Read(p []byte) (int, error) { return l.zr.Read(p) }

func (l *logReader) Close() error { return errors.Join(l.zr.Close(), l.f.Close()) }
