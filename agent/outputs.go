package agent

import (
	"context"
	"fmt"
	"io"

	"github.com/ferry-ml/ferry/agent/outputs"
	"github.com/ferry-ml/ferry/executor/api"
)

// DefaultMaxOutputSize is how many bytes of a run's outputs ferry brings
// back unless told otherwise (--max-output-size): 10 GiB.
const DefaultMaxOutputSize int64 = 10 << 30

// FetchedOutputs is what FetchOutputs brought back.
type FetchedOutputs struct {
	// Files are the outputs now in the local store (links included), in
	// the executor's order: what Materialize can write.
	Files []api.OutputFile
	// Downloaded counts the blobs that had to travel.
	Downloaded int
	// Skipped are the files left on the target because the outputs
	// would otherwise exceed the size cap.
	Skipped []api.OutputFile
}

// SkippedBytes is the total size of the skipped files.
func (f FetchedOutputs) SkippedBytes() int64 {
	var n int64
	for _, s := range f.Skipped {
		n += s.Size
	}
	return n
}

// FetchOutputs copies the run's outputs/ into the local content-addressed
// store, downloading only the blobs the store lacks. Files are taken in
// order while their sizes add up to at most maxBytes (<= 0: no cap); a
// file that would pass the cap is skipped, and later smaller ones still
// come. Each download is cut at the size the executor announced, so a
// target cannot send more than it listed.
func (c *Conn) FetchOutputs(ctx context.Context, id string, store *outputs.Store, maxBytes int64) (FetchedOutputs, error) {
	var res FetchedOutputs
	files, err := c.Executor.Outputs(ctx, id)
	if err != nil {
		return res, fmt.Errorf("list outputs of run %s: %w", id, err)
	}
	var total int64
	for _, f := range files {
		if f.Link == "" && maxBytes > 0 && (f.Size < 0 || total+f.Size > maxBytes) {
			res.Skipped = append(res.Skipped, f)
			continue
		}
		total += f.Size
		res.Files = append(res.Files, f)
		if f.Link != "" || store.Has(f.Hash) {
			continue
		}
		if err := c.fetchOne(ctx, id, f, store); err != nil {
			return res, err
		}
		res.Downloaded++
	}
	return res, nil
}

func (c *Conn) fetchOne(ctx context.Context, id string, f api.OutputFile, store *outputs.Store) error {
	body, err := c.Executor.File(ctx, id, "outputs/"+f.Path)
	if err != nil {
		return fmt.Errorf("download output %s of run %s: %w", f.Path, id, err)
	}
	defer body.Close()
	if err := store.Put(f.Hash, io.LimitReader(body, max(f.Size, 0))); err != nil {
		return fmt.Errorf("download output %s of run %s: %w", f.Path, id, err)
	}
	return nil
}
