package agent

import (
	"context"
	"fmt"

	"github.com/ferry-ml/ferry/agent/outputs"
	"github.com/ferry-ml/ferry/executor/api"
)

// FetchOutputs copies the run's outputs/ into the local content-addressed
// store, downloading only the blobs the store lacks, and returns the list
// of output files.
func (c *Conn) FetchOutputs(ctx context.Context, id string, store *outputs.Store) ([]api.OutputFile, int, error) {
	files, err := c.Executor.Outputs(ctx, id)
	if err != nil {
		return nil, 0, fmt.Errorf("list outputs of run %s: %w", id, err)
	}
	fetched := 0
	for _, f := range files {
		if f.Link != "" || store.Has(f.Hash) {
			continue
		}
		if err := c.fetchOne(ctx, id, f, store); err != nil {
			return nil, fetched, err
		}
		fetched++
	}
	return files, fetched, nil
}

func (c *Conn) fetchOne(ctx context.Context, id string, f api.OutputFile, store *outputs.Store) error {
	body, err := c.Executor.File(ctx, id, "outputs/"+f.Path)
	if err != nil {
		return fmt.Errorf("download output %s of run %s: %w", f.Path, id, err)
	}
	defer body.Close()
	if err := store.Put(f.Hash, body); err != nil {
		return fmt.Errorf("download output %s of run %s: %w", f.Path, id, err)
	}
	return nil
}
