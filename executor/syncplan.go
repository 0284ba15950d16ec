package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/snapshot"
)

// Plan answers what a sync must send: whether the snapshot (or the agent's
// base snapshot) is already here, and which of the named blobs are missing.
func (s *Store) Plan(ctx context.Context, req api.PlanRequest) (api.PlanResponse, error) {
	var resp api.PlanResponse
	var err error
	if resp.HaveSnapshot, err = s.hasSnapshot(req.Snapshot); err != nil || resp.HaveSnapshot {
		return resp, err
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
	return resp, err
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
// body of POST /v1/packs), with the same guarantees as Ingest: every record
// verified, nothing of the pack stored unless all of it could be.
func (s *Store) IngestStream(ctx context.Context, r io.Reader) (api.IngestResponse, error) {
	select {
	case s.ingestSem <- struct{}{}:
	case <-ctx.Done():
		return api.IngestResponse{}, ctx.Err()
	}
	defer func() { <-s.ingestSem }()
	pend, res, err := s.unpack(ctx, r)
	if err == nil {
		err = s.commit(pend)
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
	m, err := d.Apply(bm)
	if err != nil {
		return api.SnapshotResponse{}, &RequestError{Err: err}
	}
	full, err := m.MarshalBinary()
	if err != nil {
		return api.SnapshotResponse{}, &RequestError{Err: err}
	}
	return s.PutSnapshot(ctx, id, full)
}
