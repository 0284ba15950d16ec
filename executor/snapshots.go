package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/fsutil"
	"github.com/ferry-ml/ferry/snapshot"
)

// PutSnapshot stores a manifest under id after checking that it decodes,
// that id is its SHA-256, and that every blob it names is present (else a
// *MissingBlobsError). Storing the same manifest again is a no-op.
func (s *Store) PutSnapshot(ctx context.Context, id string, data []byte) (api.SnapshotResponse, error) {
	m, err := checkManifest(id, data)
	if err != nil {
		return api.SnapshotResponse{}, err
	}
	return s.storeManifest(ctx, m, data, m.Blobs())
}

// checkManifest decodes data and checks that it hashes to id.
func checkManifest(id string, data []byte) (*snapshot.Manifest, error) {
	want, err := snapshot.ParseID(id)
	if err != nil {
		return nil, &RequestError{Err: err}
	}
	m, got, err := snapshot.ParseManifest(data)
	if err != nil {
		return nil, &RequestError{Err: err}
	}
	if got != want {
		return nil, badRequest("manifest hashes to %s, not %s", got, want)
	}
	return m, nil
}

// storeManifest stores manifest m (encoded as data) once the blobs in
// check, which must cover every blob of m not known present, are present.
func (s *Store) storeManifest(ctx context.Context, m *snapshot.Manifest, data []byte, check []snapshot.BlobID) (api.SnapshotResponse, error) {
	id := m.ID()
	resp := api.SnapshotResponse{ID: id.String(), Files: m.Files(), Bytes: m.Bytes()}
	gen := s.verified.generation()
	if err := s.requireBlobs(ctx, check); err != nil {
		return api.SnapshotResponse{}, err
	}
	if err := s.makeDurable(); err != nil { // blobs durable before the manifest
		return api.SnapshotResponse{}, fmt.Errorf("store blobs: %w", err)
	}
	if err := s.writeDurable(s.snapshotPath(id), data); err != nil {
		return api.SnapshotResponse{}, fmt.Errorf("store manifest: %w", err)
	}
	s.verified.add(id, gen)
	if fi, err := os.Stat(s.snapshotPath(id)); err == nil {
		s.manifests.put(id, statOf(fi), m) // the run that follows reads it
	}
	return resp, nil
}

func (s *Store) requireBlobs(ctx context.Context, blobs []snapshot.BlobID) error {
	have := make([]bool, len(blobs))
	err := parallel(ctx, 8, len(blobs), func(i int) error {
		ok, err := s.has(blobs[i])
		have[i] = ok
		return err
	})
	if err != nil {
		return err
	}
	var missing []string
	for i, ok := range have {
		if !ok {
			missing = append(missing, blobs[i].String())
		}
	}
	if len(missing) > 0 {
		return &MissingBlobsError{Missing: missing}
	}
	return nil
}

// Snapshot returns the stored manifest bytes of id, or ErrNotFound.
func (s *Store) Snapshot(id string) ([]byte, error) {
	f, _, err := s.openSnapshot(id)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	return b, nil
}

// openSnapshot opens the stored manifest of id (ErrNotFound when there is
// none).
func (s *Store) openSnapshot(id string) (*os.File, snapshot.ID, error) {
	sid, err := snapshot.ParseID(id)
	if err != nil {
		return nil, sid, &RequestError{Err: err}
	}
	f, err := os.Open(s.snapshotPath(sid))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, sid, fmt.Errorf("snapshot %s: %w", sid.Short(), ErrNotFound)
	}
	if err != nil {
		return nil, sid, fmt.Errorf("read snapshot: %w", err)
	}
	return f, sid, nil
}

// Manifest returns the decoded manifest of a stored snapshot, from memory
// when its file is unchanged since it was read (manifestcache.go). The
// manifest may be shared: callers must not modify it.
func (s *Store) Manifest(id string) (*snapshot.Manifest, error) {
	f, sid, err := s.openSnapshot(id)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	st := statOf(fi)
	if m := s.manifests.get(sid, st); m != nil {
		return m, nil
	}
	b, err := io.ReadAll(io.LimitReader(f, snapshot.MaxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	m, got, err := snapshot.ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("stored snapshot %s: %w", id, err)
	}
	if got != sid {
		return nil, fmt.Errorf("stored snapshot %s: content hashes to %s", id, got.Short())
	}
	s.manifests.put(sid, st, m)
	return m, nil
}

func (s *Store) snapshotPath(id snapshot.ID) string {
	return s.path(SnapshotsDir, id.String())
}

// writeDurable writes data to name with fsutil's atomic writer, its temp
// file in tmp/ (swept at start), fsyncing the file and then name's folder.
func (s *Store) writeDurable(name string, data []byte) error {
	return fsutil.WriteAtomicVia(s.path(TmpDir), tmpPrefix+"s-", name, 0o600, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// CommitFromBlob stores snapshot id from the manifest, or with base the
// delta against base, stored as blob mid (uploaded in a pack): exactly as
// PutSnapshot or PutSnapshotDelta would from a request body.
func (s *Store) CommitFromBlob(ctx context.Context, id, base, mid string) (api.SnapshotResponse, error) {
	bid, err := parseID(mid)
	if err != nil {
		return api.SnapshotResponse{}, &RequestError{Err: err}
	}
	if ok, err := s.has(bid); err != nil || !ok {
		return api.SnapshotResponse{}, fmt.Errorf("manifest blob %.8s not stored (%v)", mid, err)
	}
	f, err := os.Open(s.blobPath(bid))
	if err != nil {
		return api.SnapshotResponse{}, fmt.Errorf("open manifest blob: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, snapshot.MaxManifestBytes+1))
	if err != nil {
		return api.SnapshotResponse{}, fmt.Errorf("read manifest blob: %w", err)
	}
	if len(data) > snapshot.MaxManifestBytes {
		return api.SnapshotResponse{}, badRequest("manifest blob over %d bytes", snapshot.MaxManifestBytes)
	}
	if base != "" {
		return s.PutSnapshotDelta(ctx, id, base, data)
	}
	return s.PutSnapshot(ctx, id, data)
}
