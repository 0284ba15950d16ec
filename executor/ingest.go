package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ferry-ml/ferry/executor/api"
)

// fewFiles is the most blobs makeDurable fsyncs one by one; past it one
// syncfs(2) is cheaper than one fsync per file and directory.
const fewFiles = 16

// pendingBlob is a verified temp file waiting to be renamed into place,
// or (placed) a blob already at its final name and recorded as pending.
type pendingBlob struct {
	id     [32]byte
	tmp    string
	size   int64
	placed bool
}

// packResult is what one pack contributed.
type packResult struct {
	blobs    int
	bytes    int64
	rejected []string
}

// Ingest stores the blobs of the named packs (base names under incoming/),
// verifying each record's SHA-256, and deletes each pack once done. Packs
// are ingested concurrently (bounded across requests). Each pack is
// atomic: a damaged pack (api.ErrPackCorrupt), a full disk (ErrNoSpace) or
// any other failure stores nothing of that pack. A record whose content
// does not match its id is skipped and listed in Rejected; the rest of its
// pack is stored.
func (s *Store) Ingest(ctx context.Context, packs []string) (api.IngestResponse, error) {
	for _, name := range packs {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
			return api.IngestResponse{}, badRequest("bad pack name %q", name)
		}
	}
	results := make([]packResult, len(packs))
	err := parallel(ctx, cap(s.ingestSem), len(packs), func(i int) error {
		select {
		case s.ingestSem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-s.ingestSem }()
		r, err := s.ingestPack(ctx, packs[i])
		results[i] = r
		return err
	})
	var resp api.IngestResponse
	for _, r := range results {
		resp.Blobs += r.blobs
		resp.Bytes += r.bytes
		resp.Rejected = append(resp.Rejected, r.rejected...)
	}
	return resp, err
}

func (s *Store) ingestPack(ctx context.Context, name string) (packResult, error) {
	path := s.path(api.IncomingDir, name)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return packResult{}, badRequest("pack %q not found in %s/", name, api.IncomingDir)
	}
	if err != nil {
		return packResult{}, fmt.Errorf("open pack: %w", err)
	}
	defer f.Close()
	pend, res, err := s.unpack(ctx, f, false)
	if err == nil {
		err = s.commit(pend)
	}
	if err != nil {
		removeTemps(pend)
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
			err = fmt.Errorf("%w (%w)", ErrNoSpace, err)
		}
		if ctx.Err() == nil {
			os.Remove(path) // damaged or unstorable; the agent uploads it again
		}
		return packResult{}, fmt.Errorf("ingest pack %s: %w", name, err)
	}
	for _, p := range pend {
		res.blobs++
		res.bytes += p.size
	}
	if err := os.Remove(path); err != nil {
		s.log.Warn("removing ingested pack", "pack", name, "error", err)
	}
	s.log.Debug("ingested pack", "pack", name, "blobs", res.blobs, "bytes", res.bytes, "rejected", len(res.rejected))
	return res, nil
}

// unpack writes every record the store lacks to a verified temp file or,
// with place (a stream, whose whole records are kept even if it is cut)
// where the file system allows, straight to its final name.
func (s *Store) unpack(ctx context.Context, r io.Reader, place bool) ([]pendingBlob, packResult, error) {
	place = place && s.canPlace
	var pend []pendingBlob
	var res packResult
	pr, err := api.NewPackReader(r)
	if err != nil {
		return nil, res, err
	}
	defer pr.Close()
	for {
		if err := ctx.Err(); err != nil {
			return pend, res, err
		}
		rec, err := pr.Next()
		if err == io.EOF {
			return pend, res, nil
		}
		if err != nil {
			return pend, res, err
		}
		if s.trusted(rec.ID) {
			continue
		}
		var tmp string
		if place {
			err = s.placePending(rec.ID, pr, rec.Size)
		} else {
			tmp, err = s.writeTemp(pr)
		}
		if errors.Is(err, api.ErrBlobMismatch) {
			s.log.Warn("rejecting blob whose content does not match its id", "blob", rec.IDString()[:8])
			res.rejected = append(res.rejected, rec.IDString())
			continue
		}
		if err != nil {
			return pend, res, err
		}
		pend = append(pend, pendingBlob{id: rec.ID, tmp: tmp, size: rec.Size, placed: place})
	}
}

// trusted is the cheap part of check: present and unchanged since verified.
func (s *Store) trusted(id [32]byte) bool {
	known, ok := s.idx.lookup(id)
	if !ok {
		if known, ok = s.pendingStat(id); !ok {
			return false
		}
	}
	st, ok := lstatBlob(s.blobPath(id))
	return ok && st == known
}

// placePending places one record and records it as pending at once, so
// that a racing stream with the same blob trusts it.
func (s *Store) placePending(id [32]byte, r io.Reader, size int64) error {
	st, err := s.place(id, r, size)
	if err != nil {
		return err
	}
	s.pendMu.Lock()
	s.pending[id] = st
	s.pendMu.Unlock()
	return nil
}

func (s *Store) writeTemp(r io.Reader) (string, error) {
	f, err := os.CreateTemp(s.path(TmpDir), tmpPrefix+"b-*")
	if err != nil {
		return "", fmt.Errorf("create temp blob: %w", err)
	}
	_, err = io.Copy(f, r)
	if err == nil {
		startWriteback(f)
		err = f.Chmod(0o444)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// commit renames the verified temp files into place and records them as
// pending: present, but not yet known durable, so not in the index (which
// is what lets a blob be trusted without re-hashing it). The data and the
// renames are made durable later, all packs at once, by makeDurable, which
// PutSnapshot calls before it stores a manifest: one syncfs(2) per sync
// instead of one per pack (each a journal commit that also waits for every
// other writer's dirty data on the file system). Trade-off: a crash before
// makeDurable can leave a torn blob at its final name; it is not indexed,
// so the next check re-hashes it and deletes it. writeTemp already started
// each file's writeback, so makeDurable mostly waits for I/O in flight.
func (s *Store) commit(pend []pendingBlob) error {
	recs := make(map[[32]byte]blobStat, len(pend))
	for i := range pend {
		if pend[i].placed {
			continue
		}
		dst := s.blobPath(pend[i].id)
		if err := os.Rename(pend[i].tmp, dst); err != nil {
			return fmt.Errorf("rename blob into place: %w", err)
		}
		pend[i].tmp = ""
		fi, err := os.Lstat(dst)
		if err != nil {
			return fmt.Errorf("stat stored blob: %w", err)
		}
		recs[pend[i].id] = statOf(fi)
	}
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	for id, st := range recs {
		s.pending[id] = st
	}
	return nil
}

// pendingStat returns the stat of a blob renamed into place by this daemon
// and not yet made durable.
func (s *Store) pendingStat(id [32]byte) (blobStat, bool) {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	st, ok := s.pending[id]
	return st, ok
}

// makeDurable makes every pending blob's content and name durable, then
// records them in the index. Few blobs are fsynced one by one (with their
// directories); past fewFiles one syncfs(2) is cheaper.
func (s *Store) makeDurable() error {
	s.pendMu.Lock()
	recs := make(map[[32]byte]blobStat, len(s.pending))
	for id, st := range s.pending {
		recs[id] = st
	}
	s.pendMu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	if err := s.syncBlobs(recs); err != nil {
		return err
	}
	if err := s.idx.add(recs); err != nil {
		// Blobs are durable; without index entries they are re-hashed once.
		s.log.Warn("recording ingested blobs in the index", "error", err)
	}
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	for id, st := range recs {
		if s.pending[id] == st {
			delete(s.pending, id)
		}
	}
	return nil
}

func (s *Store) syncBlobs(recs map[[32]byte]blobStat) error {
	if len(recs) > fewFiles && syncFSWorks {
		return syncFS(s.path(BlobsDir), nil)
	}
	dirs := make(map[string]struct{})
	for id := range recs {
		p := s.blobPath(id)
		if err := syncFile(p); err != nil {
			return err
		}
		dirs[filepath.Dir(p)] = struct{}{}
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

func removeTemps(pend []pendingBlob) {
	for _, p := range pend {
		if p.tmp != "" {
			os.Remove(p.tmp)
		}
	}
}

func syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("open for sync: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", filepath.Base(name), err)
	}
	return nil
}

func syncDir(dir string) error {
	if err := syncFile(dir); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}
