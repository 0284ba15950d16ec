package executor

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/snapshot"
)

// Plan answers what a sync must send: whether the snapshot (or the agent's
// base snapshot) is already here, and which of the named blobs are missing.
// A snapshot counts as here only while all its blobs are: one whose blob
// file was changed on disk (and fails its hash) is reported absent, with
// no base, so that the agent names every blob and the damaged ones travel
// again.
func (s *Store) Plan(ctx context.Context, req api.PlanRequest) (api.PlanResponse, error) {
	var resp api.PlanResponse
	var err error
	if resp.HaveSnapshot, err = s.hasSnapshot(req.Snapshot); err != nil {
		return resp, err
	}
	if resp.HaveSnapshot {
		if resp.HaveSnapshot, err = s.snapshotIntact(ctx, req.Snapshot); err != nil || resp.HaveSnapshot {
			return resp, err
		}
		if req.Base != "" {
			return api.PlanResponse{Missing: []string{}}, nil
		}
	}
	if req.Base != "" {
		if resp.HaveBase, err = s.hasSnapshot(req.Base); err != nil {
			return resp, err
		}
	}
	resp.Missing, err = s.Missing(ctx, req.Blobs, false)
	if resp.Missing == nil {
		resp.Missing = []string{}
	}
	if err == nil {
		resp.Chunks = s.planChunks(ctx, req.Similar, resp.Missing)
	}
	return resp, err
}

// snapshotIntact reports whether every blob of stored snapshot id is
// present and trusted. Blobs touched since they were verified are hashed
// again, and deleted when they no longer match (see Missing).
func (s *Store) snapshotIntact(ctx context.Context, id string) (bool, error) {
	m, err := s.Manifest(id)
	if err != nil {
		s.log.Warn("unreadable snapshot manifest; asking for it again", "snapshot", id[:12], "error", err)
		return false, nil
	}
	blobs := m.Blobs()
	untrusted := make([]bool, len(blobs))
	_ = parallel(ctx, trustWorkers(len(blobs)), len(blobs), func(i int) error {
		untrusted[i] = !s.trusted(blobs[i])
		return nil
	})
	var suspect []string
	for i, b := range blobs {
		if untrusted[i] {
			suspect = append(suspect, b.String())
		}
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if len(suspect) == 0 {
		return true, nil
	}
	missing, err := s.Missing(ctx, suspect, false)
	return len(missing) == 0, err
}

// trustWorkers is how many goroutines lstat n blobs: one lstat costs a
// few microseconds, so a snapshot of a thousand files or more is checked on
// every CPU (up to 4).
func trustWorkers(n int) int {
	if n < 512 {
		return 1
	}
	return min(4, runtime.GOMAXPROCS(0))
}

func (s *Store) hasSnapshot(id string) (bool, error) {
	sid, err := snapshot.ParseID(id)
	if err != nil {
		return false, &RequestError{Err: err}
	}
	_, err = os.Stat(s.snapshotPath(sid))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// IngestStream stores the blobs of a pack read from r as it arrives (the
// body of POST /v1/packs), every record verified as in Ingest. Unlike
// Ingest it keeps the records that arrived whole when the stream breaks
// (a cut link): each was verified, and the next sync need not send it
// again. It still returns the error.
//
// Then it builds the files of the named recipes (see Assemble).
func (s *Store) IngestStream(ctx context.Context, r io.Reader, assemble []string) (api.IngestResponse, error) {
	select {
	case s.ingestSem <- struct{}{}:
	case <-ctx.Done():
		return api.IngestResponse{}, ctx.Err()
	}
	defer func() { <-s.ingestSem }()
	pend, res, err := s.unpack(ctx, r, true)
	if cerr := s.commit(pend); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		removeTemps(pend)
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
			err = fmt.Errorf("%w (%w)", ErrNoSpace, err)
		}
		return api.IngestResponse{}, fmt.Errorf("ingest pack: %w", err)
	}
	out := api.IngestResponse{Rejected: res.rejected}
	for _, p := range pend {
		out.Blobs++
		out.Bytes += p.size
	}
	if len(assemble) > 0 {
		if out.Assembled, out.AssembleFailed, err = s.Assemble(ctx, assemble); err != nil {
			return out, err
		}
	}
	return out, nil
}

// PutSnapshotDelta stores snapshot id given as a delta against base.
func (s *Store) PutSnapshotDelta(ctx context.Context, id, base string, data []byte) (api.SnapshotResponse, error) {
	d, err := snapshot.ParseDelta(data)
	if err != nil {
		return api.SnapshotResponse{}, &RequestError{Err: err}
	}
	if d.Base.String() != base {
		return api.SnapshotResponse{}, badRequest("delta is against %s, not %s", d.Base.Short(), base)
	}
	bm, err := s.Manifest(base)
	if err != nil {
		return api.SnapshotResponse{}, fmt.Errorf("load base snapshot: %w", err)
	}
	m, full, err := d.ApplyEncoded(bm, d.Base) // Manifest checked that bm hashes to base
	if err != nil {
		return api.SnapshotResponse{}, &RequestError{Err: err}
	}
	if got := snapshot.ID(sha256.Sum256(full)); got.String() != id {
		return api.SnapshotResponse{}, badRequest("manifest hashes to %s, not %s", got, id)
	}
	var check []snapshot.BlobID
	if s.verified.intact(d.Base) {
		// The base's blobs were all checked when it was stored and none
		// was removed since; a blob deleted behind the daemon's back is
		// caught when a run directory is made from it. The delta's entries
		// name every blob the base lacks.
		for _, e := range d.Upserted {
			check = append(check, e.Blob)
		}
	} else {
		check = m.Blobs()
	}
	return s.storeManifest(ctx, m, full, check)
}
