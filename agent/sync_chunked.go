package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/cdc"
	"github.com/ferry-ml/ferry/snapshot"
)

// Large changed files travel as the chunks the target lacks and a recipe
// (see api.Recipe): a 4 KiB edit inside a 4 MiB file sends one or two
// chunks of about 16 KiB instead of the whole file.

// deltaPackRecipes bounds the recipes one pack names (its URL lists them).
const deltaPackRecipes = 64

// delta is one file sent as new chunks and a recipe.
type delta struct {
	entry  snapshot.Entry
	recipe []byte
	rid    [32]byte
	chunks []cdc.Chunk // chunks the base lacks, each once
}

// bytes is what the delta puts in a pack.
func (d *delta) bytes() int64 {
	n := int64(len(d.recipe))
	for _, c := range d.chunks {
		n += int64(c.Size)
	}
	return n
}

// similarBlobs maps the blob of each large changed file to the blob its
// path had in base (api.PlanRequest.Similar).
func similarBlobs(base *snapshot.Manifest, changed []snapshot.Entry) map[string]string {
	old := make(map[string]snapshot.Entry, len(changed))
	for _, e := range base.Entries {
		old[e.Path] = e
	}
	out := map[string]string{}
	for _, e := range changed {
		o, ok := old[e.Path]
		if ok && !e.IsSymlink() && !o.IsSymlink() && e.Size >= api.ChunkedMinSize && o.Size >= cdc.MinSize {
			out[e.Blob.String()] = o.Blob.String()
		}
	}
	return out
}

// makeDeltas turns the entries of todo whose similar blob has a chunk list
// on the target into deltas; it returns them and the entries to send whole.
func makeDeltas(ctx context.Context, root string, todo []snapshot.Entry, similar map[string]string, lists map[string][]byte) ([]*delta, []snapshot.Entry, error) {
	var deltas []*delta
	var whole []snapshot.Entry
	for _, e := range todo {
		enc := lists[similar[e.Blob.String()]]
		if enc == nil || e.IsSymlink() {
			whole = append(whole, e)
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		d, err := makeDelta(root, e, similar[e.Blob.String()], enc)
		if err != nil {
			return nil, nil, err
		}
		if d == nil {
			whole = append(whole, e)
			continue
		}
		deltas = append(deltas, d)
	}
	return deltas, whole, nil
}

// makeDelta chunks e's file and writes the recipe that builds it from base
// (whose chunk list is enc) and the chunks base lacks. It returns nil when
// more than three quarters of the file would travel anyway.
func makeDelta(root string, e snapshot.Entry, base string, enc []byte) (*delta, error) {
	list, err := api.ParseChunkList(enc)
	if err != nil {
		return nil, fmt.Errorf("chunk list from the target: %w", err)
	}
	baseID, err := snapshot.ParseBlobID(base)
	if err != nil {
		return nil, fmt.Errorf("similar blob: %w", err)
	}
	chunks, err := chunkFile(root, e)
	if err != nil {
		return nil, err
	}
	r := api.Recipe{File: e.Blob, Size: e.Size, Base: baseID}
	d := &delta{entry: e}
	r.Ops, d.chunks = recipeOps(chunks, list)
	if d.bytes() > e.Size*3/4 {
		return nil, nil
	}
	if d.recipe, err = r.MarshalBinary(); err != nil {
		return nil, err
	}
	d.rid = sha256.Sum256(d.recipe)
	return d, nil
}

// chunkFile chunks e's file, checking that it still hashes to e's blob.
func chunkFile(root string, e snapshot.Entry) ([]cdc.Chunk, error) {
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(e.Path)))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", e.Path, err)
	}
	defer f.Close()
	h := sha256.New()
	chunks, err := cdc.All(io.LimitReader(f, e.Size+1), h)
	if err != nil {
		return nil, fmt.Errorf("chunk %s: %w", e.Path, err)
	}
	if snapshot.BlobID(h.Sum(nil)) != e.Blob {
		return nil, fmt.Errorf("chunk %s: it changed since the snapshot; run again", e.Path)
	}
	return chunks, nil
}

// recipeOps maps each chunk to a range of base (adjacent ranges merged)
// or to itself, and lists the chunks base lacks once each.
func recipeOps(chunks []cdc.Chunk, base api.ChunkList) ([]api.RecipeOp, []cdc.Chunk) {
	at := make(map[[32]byte]int64, len(base))
	var off int64
	for _, c := range base {
		if _, dup := at[c.ID]; !dup {
			at[c.ID] = off
		}
		off += c.Size
	}
	var ops []api.RecipeOp
	var missing []cdc.Chunk
	sent := map[[32]byte]bool{}
	for _, c := range chunks {
		size := int64(c.Size)
		if o, ok := at[c.ID]; ok {
			if n := len(ops); n > 0 && ops[n-1].Chunk == nil && ops[n-1].Offset+ops[n-1].Size == o {
				ops[n-1].Size += size
			} else {
				ops = append(ops, api.RecipeOp{Offset: o, Size: size})
			}
			continue
		}
		id := c.ID
		ops = append(ops, api.RecipeOp{Chunk: &id, Size: size})
		if !sent[id] {
			sent[id] = true
			missing = append(missing, c)
		}
	}
	return ops, missing
}

// sendDeltaPack streams the deltas' chunks and recipes in one pack and
// asks the target to build their files; it returns the deltas whose file
// was not built (to send whole).
func (c *Conn) sendDeltaPack(ctx context.Context, up *packUpload, ds []*delta) ([]*delta, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(up.writeDeltas(wireCounter{pw, &up.wire}, ds)) }()
	rids := make([]string, len(ds))
	for i, d := range ds {
		rids[i] = snapshot.BlobID(d.rid).String()
	}
	resp, err := c.Executor.UploadPack(ctx, pr, rids...)
	pr.CloseWithError(fmt.Errorf("upload ended"))
	if err != nil {
		return nil, err
	}
	failed := map[string]bool{}
	for _, r := range resp.AssembleFailed {
		failed[r] = true
	}
	var out []*delta
	for i, d := range ds {
		if failed[rids[i]] {
			out = append(out, d)
		}
	}
	return out, nil
}

func (up *packUpload) writeDeltas(w io.Writer, ds []*delta) error {
	pw, err := api.NewPackWriterCompressed(w, up.level)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if err := addDelta(pw, up.root, d); err != nil {
			return err
		}
		n := up.done.Add(d.bytes())
		if up.progress != nil {
			up.progress(n, up.total)
		}
	}
	return pw.Close()
}

func addDelta(pw *api.PackWriter, root string, d *delta) error {
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(d.entry.Path)))
	if err != nil {
		return fmt.Errorf("read %s: %w", d.entry.Path, err)
	}
	defer f.Close()
	for _, c := range d.chunks {
		if err := pw.Add(c.ID, io.NewSectionReader(f, c.Offset, int64(c.Size)), int64(c.Size)); err != nil {
			return fmt.Errorf("pack a chunk of %s (did it change during the sync? run again): %w", d.entry.Path, err)
		}
	}
	return pw.Add(d.rid, bytes.NewReader(d.recipe), int64(len(d.recipe)))
}
