package agent

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/ferry-ml/ferry/agent/outputs"
	"github.com/ferry-ml/ferry/snapshot"
	"github.com/hashicorp/go-hclog"
)

// BlobReader reads blobs stored on a target (*Conn is one).
type BlobReader interface {
	// Blob streams a stored blob's content; the caller closes it.
	Blob(ctx context.Context, id string) (io.ReadCloser, error)
	Close() error
}

// blobPlanner is a Remote that says which blobs it lacks (*Conn); for
// others every blob is staged.
type blobPlanner interface {
	MissingBlobs(ctx context.Context, m *snapshot.Manifest) ([]string, error)
}

// BlobSources are where a rerun finds the content of its snapshot's files
// that the target lacks, cheapest first: a target that already holds them
// needs nothing; then files under Source whose content still hashes to
// the blob; then the local content store; then the original target's
// executor (Origin), whose blobs are kept in the local store as they come.
type BlobSources struct {
	// Source is the original source directory ("" for none).
	Source string
	// Store is the local content store (may be nil).
	Store *outputs.Store
	// Origin opens the original target; nil when there is none to ask
	// (the rerun goes to the same target).
	Origin func(ctx context.Context) (BlobReader, error)
	Logger hclog.Logger
}

// stage writes the content of every file of m whose blob the target lacks
// into a new directory (at its path in m) and returns that directory, to
// sync from; cleanup removes it. It fails with *MissingFilesError naming
// the files none of the sources could provide.
func (b *BlobSources) stage(ctx context.Context, remote Remote, m *snapshot.Manifest) (string, func(), error) {
	missing, err := missingOn(ctx, remote, m)
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "ferry-rerun-")
	if err != nil {
		return "", nil, fmt.Errorf("create staging directory: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	st := &stager{b: b, dir: dir, m: m}
	defer st.closeOrigin()
	if err := st.stageAll(ctx, missing); err != nil {
		cleanup()
		return "", nil, err
	}
	return dir, cleanup, nil
}

// missingOn lists the blobs of m's regular files that the target lacks.
func missingOn(ctx context.Context, remote Remote, m *snapshot.Manifest) (map[snapshot.BlobID]bool, error) {
	var ids []string
	if p, ok := remote.(blobPlanner); ok {
		var err error
		if ids, err = p.MissingBlobs(ctx, m); err != nil {
			return nil, err
		}
	} else {
		ids = blobIDs(m.Entries)
	}
	out := make(map[snapshot.BlobID]bool, len(ids))
	for _, s := range ids {
		id, err := snapshot.ParseBlobID(s)
		if err != nil {
			return nil, fmt.Errorf("target lacks blob %q: %w", s, err)
		}
		out[id] = true
	}
	return out, nil
}

// stager fills one staging directory.
type stager struct {
	b      *BlobSources
	dir    string
	m      *snapshot.Manifest
	origin BlobReader
	tried  bool // whether Origin was opened (or failed to open)
}

// stageAll stages every missing blob, at every path that holds it.
func (s *stager) stageAll(ctx context.Context, missing map[snapshot.BlobID]bool) error {
	byBlob := map[snapshot.BlobID][]snapshot.Entry{}
	for _, e := range s.m.Entries {
		if !e.IsSymlink() && missing[e.Blob] {
			byBlob[e.Blob] = append(byBlob[e.Blob], e)
		}
	}
	var lost []string
	for id, entries := range byBlob {
		ok, err := s.stageBlob(ctx, id, entries)
		if err != nil {
			return err
		}
		if !ok {
			for _, e := range entries {
				lost = append(lost, e.Path)
			}
		}
	}
	if len(lost) > 0 {
		sort.Strings(lost)
		return &MissingFilesError{Snapshot: s.m.ID().String(), Paths: lost}
	}
	return nil
}

// stageBlob writes blob id to the first entry's path from the cheapest
// source that has it, then links it to the other paths.
func (s *stager) stageBlob(ctx context.Context, id snapshot.BlobID, entries []snapshot.Entry) (bool, error) {
	first := s.pathOf(entries[0])
	if err := os.MkdirAll(filepath.Dir(first), 0o700); err != nil {
		return false, fmt.Errorf("stage %s: %w", entries[0].Path, err)
	}
	ok := s.fromSource(id, entries, first) || s.fromStore(id, first) || s.fromOrigin(ctx, id, first)
	if !ok {
		return false, ctx.Err()
	}
	for _, e := range entries[1:] {
		p := s.pathOf(e)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return false, fmt.Errorf("stage %s: %w", e.Path, err)
		}
		if err := os.Link(first, p); err != nil {
			return false, fmt.Errorf("stage %s: %w", e.Path, err)
		}
	}
	return true, nil
}

func (s *stager) pathOf(e snapshot.Entry) string {
	return filepath.Join(s.dir, filepath.FromSlash(e.Path))
}

// fromSource copies a local file (at any path holding the blob) whose
// content still hashes to id.
func (s *stager) fromSource(id snapshot.BlobID, entries []snapshot.Entry, dst string) bool {
	if s.b.Source == "" {
		return false
	}
	for _, e := range entries {
		f, err := os.Open(filepath.Join(s.b.Source, filepath.FromSlash(e.Path)))
		if err != nil {
			continue
		}
		ok := s.writeVerified(dst, id, f)
		f.Close()
		if ok {
			return true
		}
	}
	return false
}

func (s *stager) fromStore(id snapshot.BlobID, dst string) bool {
	if s.b.Store == nil || !s.b.Store.Has(id.String()) {
		return false
	}
	f, err := s.b.Store.OpenBlob(id.String())
	if err != nil {
		return false
	}
	defer f.Close()
	return s.writeVerified(dst, id, f)
}

// fromOrigin downloads the blob from the original target and keeps it in
// the local store too.
func (s *stager) fromOrigin(ctx context.Context, id snapshot.BlobID, dst string) bool {
	if s.b.Origin == nil || ctx.Err() != nil {
		return false
	}
	if !s.tried {
		s.tried = true
		o, err := s.b.Origin(ctx)
		if err != nil {
			s.logger().Warn("cannot reach the original target for the snapshot's content", "error", err)
			return false
		}
		s.origin = o
	}
	if s.origin == nil {
		return false
	}
	body, err := s.origin.Blob(ctx, id.String())
	if err != nil {
		s.logger().Debug("blob not on the original target", "blob", id.Short(), "error", err)
		return false
	}
	defer body.Close()
	if !s.writeVerified(dst, id, body) {
		return false
	}
	if s.b.Store != nil {
		s.keep(id, dst)
	}
	return true
}

// keep copies a staged blob into the local store, for the next rerun.
func (s *stager) keep(id snapshot.BlobID, path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	if err := s.b.Store.Put(id.String(), f); err != nil {
		s.logger().Debug("cannot keep blob locally", "blob", id.Short(), "error", err)
	}
}

// writeVerified writes r to dst and reports whether its SHA-256 is id;
// a mismatch leaves no file.
func (s *stager) writeVerified(dst string, id snapshot.BlobID, r io.Reader) bool {
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		s.logger().Debug("cannot stage blob", "path", dst, "error", err)
		return false
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), r)
	err = errors.Join(err, f.Close())
	if err != nil || snapshot.BlobID(h.Sum(nil)) != id {
		os.Remove(dst)
		return false
	}
	return true
}

func (s *stager) closeOrigin() {
	if s.origin != nil {
		s.origin.Close()
	}
}

func (s *stager) logger() hclog.Logger {
	if s.b.Logger == nil {
		return hclog.NewNullLogger()
	}
	return s.b.Logger
}
