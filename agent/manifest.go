package agent

import (
	"context"
	"fmt"

	"github.com/ferry-ml/ferry/snapshot"
)

// Manifest fetches a snapshot's manifest from the target's store and
// checks that it is the snapshot asked for.
func (c *Conn) Manifest(ctx context.Context, id string) (*snapshot.Manifest, error) {
	data, err := c.Executor.Snapshot(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get snapshot %s from %s: %w", short(id), c.Target.Name, err)
	}
	m, got, err := snapshot.ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s from %s: %w", short(id), c.Target.Name, err)
	}
	if got.String() != id {
		return nil, fmt.Errorf("read snapshot %s from %s: the target sent snapshot %s", short(id), c.Target.Name, got.Short())
	}
	return m, nil
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
