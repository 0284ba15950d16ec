package agent

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ferry-ml/ferry/internal/fsutil"
	"github.com/ferry-ml/ferry/snapshot"
)

// ErrNoManifest is returned (wrapped) by Manifests.Get for a snapshot
// whose manifest was never kept here.
var ErrNoManifest = errors.New("snapshot manifest not kept locally")

// Manifests keeps the manifest of every snapshot a run was started from,
// gzip-compressed, one file per snapshot id (about a third of a
// kilobyte per hundred files), so that the run can be rerun exactly after
// its source changed. Safe for concurrent use.
type Manifests struct {
	dir string
}

// OpenManifests opens the manifest directory dir, creating it (0700).
func OpenManifests(dir string) (*Manifests, error) {
	if err := fsutil.MkdirPrivate(dir); err != nil {
		return nil, fmt.Errorf("create manifest directory: %w", err)
	}
	return &Manifests{dir: dir}, nil
}

func (s *Manifests) path(id snapshot.ID) string {
	return filepath.Join(s.dir, id.String()+".gz")
}

// Put keeps m; a manifest already kept is not written again.
func (s *Manifests) Put(m *snapshot.Manifest) error {
	id := m.ID()
	if _, err := os.Stat(s.path(id)); err == nil {
		return nil
	}
	data, err := m.MarshalBinary()
	if err != nil {
		return fmt.Errorf("encode manifest %s: %w", id.Short(), err)
	}
	err = fsutil.WriteAtomic(s.path(id), 0o600, func(w io.Writer) error {
		// The fastest level: a manifest is mostly hashes, so the default
		// level gains 4% in size for twice the time (15 ms for 10,000
		// entries), on the way of every run.
		zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
		if err != nil {
			return err
		}
		if _, err := zw.Write(data); err != nil {
			return err
		}
		return zw.Close()
	})
	if err != nil {
		return fmt.Errorf("keep manifest %s: %w", id.Short(), err)
	}
	return nil
}

// Get returns the manifest of snapshot id (a manifest id, hex).
func (s *Manifests) Get(id string) (*snapshot.Manifest, error) {
	sid, err := snapshot.ParseID(id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(sid))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("snapshot %s: %w", sid.Short(), ErrNoManifest)
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", sid.Short(), err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", sid.Short(), err)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, zr); err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", sid.Short(), err)
	}
	return decodeManifest(buf.Bytes(), sid)
}

// decodeManifest parses a manifest and checks it is snapshot want.
func decodeManifest(data []byte, want snapshot.ID) (*snapshot.Manifest, error) {
	m, got, err := snapshot.ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("decode manifest %s: %w", want.Short(), err)
	}
	if got != want {
		return nil, fmt.Errorf("manifest %s holds snapshot %s", want.Short(), got.Short())
	}
	return m, nil
}
