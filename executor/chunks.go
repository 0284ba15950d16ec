package executor

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/cdc"
)

// planChunkBudget bounds the bytes of blobs one plan chunks (lists not yet
// cached): a plan naming many large files must not take minutes.
const planChunkBudget = 1 << 30

// planChunks returns the chunk lists of the blobs that similar names for
// the missing blobs, where the store has them (see api.PlanResponse).
// A blob it cannot chunk, or past the budgets, is left out: the agent then
// sends the file whole.
func (s *Store) planChunks(ctx context.Context, similar map[string]string, missing []string) map[string][]byte {
	if len(similar) == 0 {
		return nil
	}
	out := map[string][]byte{}
	total, budget := 0, int64(planChunkBudget)
	for _, m := range missing {
		base, ok := similar[m]
		if !ok || out[base] != nil || ctx.Err() != nil {
			continue
		}
		list, chunked, err := s.chunkList(base, budget)
		budget -= chunked
		if err != nil {
			s.log.Debug("no chunk list for a similar blob", "blob", base[:min(8, len(base))], "error", err)
			continue
		}
		if total += len(list); total > api.MaxPlanChunkBytes {
			break
		}
		out[base] = list
	}
	return out
}

// chunkList returns the encoded chunk list of a stored blob: from the
// cache under chunks/, or by chunking the blob (and caching the list). The
// cache is not made durable, and need not be right: a list that does not
// match its blob only makes the agent's recipe fail its check, and the
// file then travels whole.
//
// It chunks only a blob of at most budget bytes, and returns how many
// bytes it chunked.
func (s *Store) chunkList(id string, budget int64) ([]byte, int64, error) {
	bid, err := parseID(id)
	if err != nil {
		return nil, 0, err
	}
	cache := s.path(ChunksDir, id)
	if b, err := os.ReadFile(cache); err == nil {
		if _, err := api.ParseChunkList(b); err == nil {
			return b, 0, nil
		}
	}
	if ok, err := s.has(bid); err != nil || !ok {
		return nil, 0, fmt.Errorf("blob %.8s not here (%v)", id, err)
	}
	f, err := os.Open(s.blobPath(bid))
	if err != nil {
		return nil, 0, fmt.Errorf("open blob: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() > budget {
		return nil, 0, fmt.Errorf("blob %.8s: over this plan's chunking budget (%v)", id, err)
	}
	chunks, err := cdc.All(f, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("chunk blob %.8s: %w", id, err)
	}
	list := make(api.ChunkList, len(chunks))
	for i, c := range chunks {
		list[i] = api.ChunkRef{ID: c.ID, Size: int64(c.Size)}
	}
	b, _ := list.MarshalBinary()
	s.cacheChunkList(cache, b)
	return b, fi.Size(), nil
}

func (s *Store) cacheChunkList(name string, b []byte) {
	f, err := os.CreateTemp(s.path(TmpDir), tmpPrefix+"c-")
	if err == nil {
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), name)
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}
	if err != nil {
		s.log.Debug("caching chunk list", "path", name, "error", err)
	}
}

// cacheBuiltList caches the chunk list of a file just built from recipe r,
// derived without reading it: each copy range of the base covers whole
// chunks of the base's cached list (the agent made it so), and each chunk
// op is a chunk. The next edit of the file then needs no chunking here.
// Nothing is cached when the ranges do not fall on the base's chunks.
func (s *Store) cacheBuiltList(r *api.Recipe) {
	enc, err := os.ReadFile(s.path(ChunksDir, hex.EncodeToString(r.Base[:])))
	if err != nil {
		return
	}
	base, err := api.ParseChunkList(enc)
	if err != nil {
		return
	}
	list, ok := builtList(base, r.Ops)
	if !ok {
		return
	}
	b, _ := list.MarshalBinary()
	s.cacheChunkList(s.path(ChunksDir, hex.EncodeToString(r.File[:])), b)
}

// builtList maps recipe ops to chunks of base (by offset) and chunk ops.
func builtList(base api.ChunkList, ops []api.RecipeOp) (api.ChunkList, bool) {
	at := make(map[int64]int, len(base)) // offset -> index of the chunk there
	var off int64
	for i, c := range base {
		at[off] = i
		off += c.Size
	}
	var out api.ChunkList
	for _, op := range ops {
		if op.Chunk != nil {
			out = append(out, api.ChunkRef{ID: *op.Chunk, Size: op.Size})
			continue
		}
		i, ok := at[op.Offset]
		for left := op.Size; left > 0; i++ {
			if !ok || i >= len(base) || base[i].Size > left {
				return nil, false
			}
			out = append(out, base[i])
			left -= base[i].Size
		}
	}
	return out, true
}
