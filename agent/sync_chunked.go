package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/cdc"
	"github.com/ferry-ml/ferry/snapshot"
)

// Large changed files travel as the chunks the target lacks and a recipe
// (see api.Recipe): a 4 KiB edit inside a 4 MiB file sends one or two
// chunks of about 16 KiB instead of the whole file.

// ForSync sets the options of a snapshot to be synced: edited files the
// sync may send as chunks (api.ChunkedMinSize and up) are cut into chunks
// as they are hashed, up to chunkWhileHashingMax, past which chunking a
// file rewritten from scratch would cost the snapshot more than it saves
// (the sync chunks a larger file itself, and gives up early).
func ForSync(o snapshot.Options) snapshot.Options {
	o.ChunkMin, o.ChunkMax = api.ChunkedMinSize, chunkWhileHashingMax
	return o
}

const chunkWhileHashingMax = 256 << 20

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
// path had in base (api.PlanRequest.Similar). Both lists are sorted by
// path, so each is looked up by binary search rather than through a map
// of the whole base.
func similarBlobs(base *snapshot.Manifest, changed []snapshot.Entry) map[string]string {
	out := map[string]string{}
	for _, e := range changed {
		if e.IsSymlink() || e.Size < api.ChunkedMinSize {
			continue
		}
		i, ok := slices.BinarySearchFunc(base.Entries, e.Path, func(b snapshot.Entry, p string) int { return strings.Compare(b.Path, p) })
		if !ok {
			continue
		}
		if o := &base.Entries[i]; !o.IsSymlink() && o.Size >= cdc.MinSize {
			out[e.Blob.String()] = o.Blob.String()
		}
	}
	return out
}

// makeDeltas turns the entries of todo whose similar blob has a chunk list
// on the target into deltas; it returns them and the entries to send whole.
// A file the snapshot m cut into chunks as it hashed it (m.Chunks) is not
// read again.
func makeDeltas(ctx context.Context, root string, m *snapshot.Manifest, todo []snapshot.Entry, similar map[string]string, lists map[string][]byte) ([]*delta, []snapshot.Entry, error) {
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
		d, err := makeDelta(root, e, m.Chunks(e.Blob), similar[e.Blob.String()], enc)
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

// giveUpAfter is how far into a file chunking goes without finding any
// chunk of the old version before the file is sent whole: a checkpoint
// rewritten from scratch costs this much chunking, not the whole file.
const giveUpAfter = 64 << 20

// makeDelta writes the recipe that builds e's file from base (whose chunk
// list is enc) and the chunks base lacks, from the file's chunks when known
// (see makeDeltas), else chunking the file. It returns nil when more than
// three quarters of the file would travel anyway, or when no chunk of the
// first giveUpAfter bytes is in base.
func makeDelta(root string, e snapshot.Entry, known []cdc.Chunk, base string, enc []byte) (*delta, error) {
	list, err := api.ParseChunkList(enc)
	if err != nil {
		return nil, fmt.Errorf("chunk list from the target: %w", err)
	}
	baseID, err := snapshot.ParseBlobID(base)
	if err != nil {
		return nil, fmt.Errorf("similar blob: %w", err)
	}
	b := newRecipeBuilder(list)
	ok := b.addAll(known)
	if known == nil {
		ok, err = b.chunkFile(root, e)
	}
	if err != nil || !ok {
		return nil, err
	}
	r := api.Recipe{File: e.Blob, Size: e.Size, Base: baseID, Ops: b.ops}
	d := &delta{entry: e, chunks: b.missing}
	if d.bytes() > e.Size*3/4 {
		return nil, nil
	}
	if d.recipe, err = r.MarshalBinary(); err != nil {
		return nil, err
	}
	d.rid = sha256.Sum256(d.recipe)
	return d, nil
}

// recipeBuilder maps each chunk of a file to a range of the base (adjacent
// ranges merged) or to itself, and lists the chunks the base lacks once
// each.
type recipeBuilder struct {
	at      map[[32]byte]int64 // base chunk -> its offset in base
	ops     []api.RecipeOp
	missing []cdc.Chunk
	sent    map[[32]byte]bool
	matched int64 // bytes found in base
}

func newRecipeBuilder(base api.ChunkList) *recipeBuilder {
	b := &recipeBuilder{at: make(map[[32]byte]int64, len(base)), sent: map[[32]byte]bool{}}
	var off int64
	for _, c := range base {
		if _, dup := b.at[c.ID]; !dup {
			b.at[c.ID] = off
		}
		off += c.Size
	}
	return b
}

// chunkFile feeds e's file to add, checking that it still hashes to e's
// blob. It reports false when it gave up (see giveUpAfter).
func (b *recipeBuilder) chunkFile(root string, e snapshot.Entry) (bool, error) {
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(e.Path)))
	if err != nil {
		return false, fmt.Errorf("read %s: %w", e.Path, err)
	}
	defer f.Close()
	h := sha256.New()
	ch := cdc.NewChunker(io.LimitReader(f, e.Size+1), h)
	for {
		c, _, err := ch.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, fmt.Errorf("chunk %s: %w", e.Path, err)
		}
		b.add(c)
		if b.matched == 0 && c.Offset >= giveUpAfter {
			return false, nil
		}
	}
	if snapshot.BlobID(h.Sum(nil)) != e.Blob {
		return false, fmt.Errorf("chunk %s: it changed since the snapshot; run again", e.Path)
	}
	return true, nil
}

// addAll adds chunks known from the snapshot; it reports false when it
// gave up (see giveUpAfter).
func (b *recipeBuilder) addAll(chunks []cdc.Chunk) bool {
	for _, c := range chunks {
		b.add(c)
		if b.matched == 0 && c.Offset >= giveUpAfter {
			return false
		}
	}
	return true
}

func (b *recipeBuilder) add(c cdc.Chunk) {
	size := int64(c.Size)
	if o, ok := b.at[c.ID]; ok {
		b.matched += size
		if n := len(b.ops); n > 0 && b.ops[n-1].Chunk == nil && b.ops[n-1].Offset+b.ops[n-1].Size == o {
			b.ops[n-1].Size += size
		} else {
			b.ops = append(b.ops, api.RecipeOp{Offset: o, Size: size})
		}
		return
	}
	id := c.ID
	b.ops = append(b.ops, api.RecipeOp{Chunk: &id, Size: size})
	if !b.sent[id] {
		b.sent[id] = true
		b.missing = append(b.missing, c)
	}
}

// sendDeltaPack streams the deltas' chunks and recipes in one pack and
// asks the target to build their files; it returns the deltas whose file
// was not built (to send whole).
func (c *Conn) sendDeltaPack(ctx context.Context, up *packUpload, ds []*delta, cm *commit) ([]*delta, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(up.writeDeltas(wireCounter{pw, &up.wire}, ds, cm)) }()
	rids := make([]string, len(ds))
	for i, d := range ds {
		rids[i] = snapshot.BlobID(d.rid).String()
	}
	resp, err := c.Executor.UploadPack(ctx, pr, cm.options(api.PackUpload{Assemble: rids}))
	pr.CloseWithError(fmt.Errorf("upload ended"))
	if err != nil {
		return nil, err
	}
	cm.result(resp)
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

func (up *packUpload) writeDeltas(w io.Writer, ds []*delta, cm *commit) error {
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
	if err := cm.add(pw); err != nil {
		return err
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
