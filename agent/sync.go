package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/fsutil"
	"github.com/ferry-ml/ferry/snapshot"
	"golang.org/x/sync/errgroup"
)

// SyncResult reports one sync (the JSON of `ferry sync --json`).
type SyncResult struct {
	Snapshot      string `json:"snapshot"`
	Files         int    `json:"files"`
	Bytes         int64  `json:"bytes"`
	UploadedFiles int    `json:"uploaded_files"`
	UploadedBytes int64  `json:"uploaded_bytes"`
	// WireBytes is what the packs took on the wire (compressed or not).
	WireBytes int64 `json:"wire_bytes"`
	// ChunkedFiles counts the files sent as changed chunks and a recipe
	// (their share of UploadedBytes is those chunks and the recipe).
	ChunkedFiles int           `json:"chunked_files"`
	Packs        int           `json:"packs"`
	Delta        bool          `json:"delta"` // the manifest went as a delta
	UpToDate     bool          `json:"up_to_date"`
	Duration     time.Duration `json:"duration_ns"`
}

// Progress receives upload progress; it is called from several goroutines.
type Progress func(doneBytes, totalBytes int64)

// Packing limits: small blobs travel together so that there is no
// per-file round trip; large ones go in packs of their own, in parallel.
const (
	packTarget    = 8 << 20 // close a pack once it holds this many bytes
	packMaxBlobs  = 4096
	packStreams   = 4 // packs in flight at once
	largeBlobSize = 4 << 20
)

// Sync makes snapshot m of root present on the target: it asks which blobs
// the target lacks (one round trip), streams those in packs over the
// executor's socket, then stores the manifest (a delta when the target
// holds the last snapshot synced from here). Blobs stored before a failure
// are kept and reused by the next sync; the manifest is stored last, so the
// target never holds a manifest whose blobs are missing.
func (c *Conn) Sync(ctx context.Context, root string, m *snapshot.Manifest, progress Progress) (SyncResult, error) {
	start := time.Now()
	id := m.ID()
	res := SyncResult{Snapshot: id.String(), Files: m.Files(), Bytes: m.Bytes()}
	base := c.lastSynced(m)
	plan, similar, err := c.plan(ctx, id, m, base)
	if err != nil {
		return res, err
	}
	if plan.HaveSnapshot {
		res.UpToDate = true
		res.Duration = time.Since(start)
		if base == nil || base.id != id {
			c.rememberSynced(m)
		}
		return res, nil
	}
	todo, err := blobsToSend(m, plan.Missing)
	if err != nil {
		return res, err
	}
	deltas, whole, err := makeDeltas(ctx, root, m, todo, similar, plan.Chunks)
	if err != nil {
		return res, err
	}
	cm, err := newCommit(id, m, base, plan.HaveBase)
	if err != nil {
		return res, err
	}
	res.Delta = cm.base != ""
	if err := c.upload(ctx, root, whole, deltas, &res, progress, cm); err != nil {
		return res, err
	}
	if !cm.done {
		if err := c.putManifest(ctx, cm); err != nil {
			return res, err
		}
	}
	c.rememberSynced(m)
	res.Duration = time.Since(start)
	return res, nil
}

// syncBase is the last snapshot synced to the target from here, with its
// id and what differs in the snapshot being synced (each computed once).
type syncBase struct {
	m  *snapshot.Manifest
	id snapshot.ID
	ch snapshot.Changes
}

// plan asks the target what it lacks, naming only the blobs that differ
// from base when the target still has base. It also names, for each large
// changed file, the blob its path had in base (similar), so that the
// answer carries those blobs' chunk lists.
//
// When this connection started the executor and its store held nothing
// (adopt), the answer is known without asking: every blob is missing, and
// there is no base and no chunk list. That saves the plan's round trips
// (two or three: 40-60 ms at 20 ms RTT) on first contact.
func (c *Conn) plan(ctx context.Context, id snapshot.ID, m *snapshot.Manifest, base *syncBase) (api.PlanResponse, map[string]string, error) {
	if c.emptyStore.Swap(false) {
		c.logger.Debug("the executor's store was empty: every blob missing, no plan asked")
		return api.PlanResponse{Missing: blobIDs(m.Entries)}, nil, nil
	}
	req := api.PlanRequest{Snapshot: id.String()}
	if base != nil {
		req.Base = base.id.String()
		req.Blobs = blobIDs(append(slices.Clip(base.ch.Added), base.ch.Changed...))
		req.Similar = similarBlobs(base.m, base.ch.Changed)
	} else {
		req.Blobs = blobIDs(m.Entries)
	}
	resp, err := c.Executor.Plan(ctx, req)
	// An executor started while this request waited (confirm.go) may have
	// said its store was empty; the answer here is the newer word.
	c.emptyStore.Store(false)
	if err != nil {
		return resp, nil, fmt.Errorf("plan sync to %s: %w", c.Target.Name, err)
	}
	if base != nil && !resp.HaveSnapshot && !resp.HaveBase {
		// The target lost the base: fall back to naming every blob.
		req.Base, req.Blobs, req.Similar = "", blobIDs(m.Entries), nil
		if resp, err = c.Executor.Plan(ctx, req); err != nil {
			return resp, nil, fmt.Errorf("plan sync to %s: %w", c.Target.Name, err)
		}
	}
	return resp, req.Similar, nil
}

func blobIDs(entries []snapshot.Entry) []string {
	seen := make(map[snapshot.BlobID]bool, len(entries))
	out := make([]string, 0, len(entries))
	for i := range entries {
		if b := entries[i].Blob; !seen[b] {
			seen[b] = true
			out = append(out, b.String())
		}
	}
	return out
}

// blobsToSend maps missing blob ids to one entry each (to read from).
func blobsToSend(m *snapshot.Manifest, missing []string) ([]snapshot.Entry, error) {
	want := make(map[string]bool, len(missing))
	for _, id := range missing {
		want[id] = true
	}
	out := make([]snapshot.Entry, 0, len(missing))
	for _, e := range m.Entries {
		if k := e.Blob.String(); want[k] {
			delete(want, k)
			out = append(out, e)
		}
	}
	if len(want) != 0 {
		return nil, fmt.Errorf("target asked for %d blobs the snapshot does not have", len(want))
	}
	return out, nil
}

// upload streams blobs in packs, packStreams at a time, compressed as
// the link calls for (linkrate.go): the deltas' chunks and recipes, and
// the files of todo whole; then, whole, the files of the deltas the
// target could not build. When everything fits in one pack, the manifest
// travels in it too, and the target stores the snapshot at its end
// (cm.done): one round trip fewer.
func (c *Conn) upload(ctx context.Context, root string, todo []snapshot.Entry, deltas []*delta, res *SyncResult, progress Progress, cm *commit) error {
	packs := makePacks(todo)
	if len(packs)+(len(deltas)+deltaPackRecipes-1)/deltaPackRecipes != 1 {
		cm = nil
	}
	up := packUpload{root: root, level: c.compression(), progress: progress}
	for _, e := range todo {
		up.total += e.Size
	}
	for _, d := range deltas {
		up.total += d.bytes()
	}
	start := time.Now()
	var failed []*delta
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(packStreams)
	for ds := range slices.Chunk(deltas, deltaPackRecipes) {
		g.Go(func() error {
			f, err := c.sendDeltaPack(gctx, &up, ds, cm)
			mu.Lock()
			failed = append(failed, f...)
			mu.Unlock()
			return err
		})
	}
	for _, p := range packs {
		g.Go(func() error { return c.sendPack(gctx, &up, p, cm) })
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("upload to %s: %w", c.Target.Name, err)
	}
	c.rememberRate(up.wire.Load(), time.Since(start))
	res.Packs += len(packs) + (len(deltas)+deltaPackRecipes-1)/deltaPackRecipes
	res.UploadedFiles += len(todo) + len(deltas) - len(failed)
	res.ChunkedFiles += len(deltas) - len(failed)
	res.UploadedBytes += up.total
	res.WireBytes += up.wire.Load()
	if len(failed) > 0 {
		c.logger.Warn("target could not build files from chunks; sending them whole", "files", len(failed))
		whole := make([]snapshot.Entry, len(failed))
		for i, d := range failed {
			whole[i] = d.entry
		}
		return c.upload(ctx, root, whole, nil, res, progress, nil)
	}
	return nil
}

// packUpload is what the packs of one upload share.
type packUpload struct {
	root       string
	level      api.Compression
	progress   Progress
	total      int64
	done, wire atomic.Int64
}

// makePacks groups entries: large blobs alone, small ones together.
func makePacks(todo []snapshot.Entry) [][]snapshot.Entry {
	var packs [][]snapshot.Entry
	var cur []snapshot.Entry
	var curBytes int64
	for _, e := range todo {
		if e.Size >= largeBlobSize {
			packs = append(packs, []snapshot.Entry{e})
			continue
		}
		cur = append(cur, e)
		curBytes += e.Size
		if curBytes >= packTarget || len(cur) >= packMaxBlobs {
			packs = append(packs, cur)
			cur, curBytes = nil, 0
		}
	}
	if len(cur) > 0 {
		packs = append(packs, cur)
	}
	// Largest first, so the long transfers start early.
	slices.SortStableFunc(packs, func(a, b []snapshot.Entry) int { return int(packBytes(b) - packBytes(a)) })
	return packs
}

func packBytes(p []snapshot.Entry) int64 {
	var n int64
	for _, e := range p {
		n += e.Size
	}
	return n
}

// sendPack writes one pack into a pipe that streams to the executor.
func (c *Conn) sendPack(ctx context.Context, up *packUpload, p []snapshot.Entry, cm *commit) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(up.write(wireCounter{pw, &up.wire}, p, cm)) }()
	resp, err := c.Executor.UploadPack(ctx, pr, cm.options(api.PackUpload{}))
	pr.CloseWithError(errors.New("upload ended"))
	if err != nil {
		return err
	}
	cm.result(resp)
	if len(resp.Rejected) > 0 {
		return changedIn(p, resp.Rejected)
	}
	return nil
}

// ChangedError is returned (wrapped) by Sync when files changed after the
// snapshot hashed them: the content read for the upload no longer matches
// the snapshot's hash, so the target refused it (it stores nothing under a
// wrong hash) and no snapshot was stored. Taking the snapshot again, once
// the files are still, succeeds.
type ChangedError struct {
	Paths []string // sorted
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("%s changed after the snapshot was taken: the content read for the upload does not match the snapshot's hash, "+
		"and the target refused it; run again once the file is no longer being written", strings.Join(e.Paths, ", "))
}

// changedIn maps the blob ids the executor rejected to the paths of pack p
// they were read from.
func changedIn(p []snapshot.Entry, rejected []string) error {
	bad := make(map[string]bool, len(rejected))
	for _, id := range rejected {
		bad[id] = true
	}
	e := &ChangedError{}
	for _, ent := range p {
		if bad[ent.Blob.String()] {
			e.Paths = append(e.Paths, ent.Path)
		}
	}
	if len(e.Paths) == 0 {
		return fmt.Errorf("the target refused %d blobs it was not sent", len(rejected))
	}
	slices.Sort(e.Paths)
	return e
}

func (up *packUpload) write(w io.Writer, p []snapshot.Entry, cm *commit) error {
	pw, err := api.NewPackWriterCompressed(w, up.level)
	if err != nil {
		return err
	}
	for _, e := range p {
		if err := addEntry(pw, up.root, e); err != nil {
			return err
		}
		n := up.done.Add(e.Size)
		if up.progress != nil {
			up.progress(n, up.total)
		}
	}
	if err := cm.add(pw); err != nil {
		return err
	}
	return pw.Close()
}

func addEntry(pw *api.PackWriter, root string, e snapshot.Entry) error {
	if e.IsSymlink() {
		return pw.Add(e.Blob, strings.NewReader(e.Link), e.Size)
	}
	f, err := fsutil.OpenSource(filepath.Join(root, filepath.FromSlash(e.Path)))
	if err != nil {
		return fmt.Errorf("read %s: %w", e.Path, err)
	}
	defer f.Close()
	if err := pw.Add(e.Blob, f, e.Size); err != nil {
		return fmt.Errorf("pack %s (did it change during the sync? run again): %w", e.Path, err)
	}
	return nil
}

// putManifest stores the snapshot of cm on the target.
func (c *Conn) putManifest(ctx context.Context, cm *commit) error {
	var err error
	if cm.base != "" {
		_, err = c.Executor.PutSnapshotDelta(ctx, cm.snapshot, cm.base, cm.body)
	} else {
		_, err = c.Executor.PutSnapshot(ctx, cm.snapshot, cm.body)
	}
	if err != nil {
		return fmt.Errorf("store snapshot on %s: %w", c.Target.Name, err)
	}
	return nil
}

// Local memory of the last snapshot synced to each target.

func (c *Conn) syncedDir() string { return filepath.Join(c.home, "cache", "synced") }

// lastSynced returns the last snapshot synced to the target from here,
// compared with m, or nil.
func (c *Conn) lastSynced(m *snapshot.Manifest) *syncBase {
	data, err := os.ReadFile(filepath.Join(c.syncedDir(), c.Target.Name+".manifest"))
	if err != nil {
		return nil
	}
	bm, id, err := snapshot.ParseManifest(data)
	if err != nil {
		c.logger.Debug("ignoring unreadable last-synced manifest", "error", err)
		return nil
	}
	return &syncBase{m: bm, id: id, ch: snapshot.Diff(bm, m)}
}

func (c *Conn) rememberSynced(m *snapshot.Manifest) {
	data, err := m.MarshalBinary()
	if err == nil {
		err = fsutil.WriteCacheFile(filepath.Join(c.syncedDir(), c.Target.Name+".manifest"), data, 0o600)
	}
	if err != nil {
		c.logger.Warn("cannot remember synced snapshot", "error", err)
	}
}
