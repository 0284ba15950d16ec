package agent

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Ranks is the number of processes (ranks) of run id: 1 unless it is a
// multi-process slurm run.
func (c *Conn) Ranks(ctx context.Context, id string) (int, error) {
	run, err := c.Executor.GetRun(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("get run %s: %w", id, err)
	}
	if run.Spec.Slurm == nil {
		return 1, nil
	}
	return run.Spec.Slurm.Processes(), nil
}

// CopyRankLog writes rank's log of run id to w, byte for byte; with follow
// it streams until the run has ended.
func (c *Conn) CopyRankLog(ctx context.Context, id string, rank int, follow bool, w io.Writer) error {
	body, err := c.Executor.RankLog(ctx, id, rank, 0, follow)
	if err != nil {
		return fmt.Errorf("read log of rank %d of run %s: %w", rank, id, err)
	}
	defer body.Close()
	if _, err := io.Copy(w, body); err != nil {
		return fmt.Errorf("read log of rank %d of run %s: %w", rank, id, err)
	}
	return nil
}

// MergeRankLogs writes the logs of ranks 0..n-1 of run id to w, each line
// prefixed "[rank N] ", whole lines only, in the order they arrive.
func (c *Conn) MergeRankLogs(ctx context.Context, id string, n int, follow bool, w io.Writer) error {
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(ctx)
	for rank := 0; rank < n; rank++ {
		g.Go(func() error {
			body, err := c.Executor.RankLog(ctx, id, rank, 0, follow)
			if err != nil {
				return fmt.Errorf("read log of rank %d of run %s: %w", rank, id, err)
			}
			defer body.Close()
			return prefixLines(body, w, &mu, fmt.Sprintf("[rank %d] ", rank))
		})
	}
	return g.Wait()
}

// prefixLines copies r to w line by line, each line prefixed; a last line
// without a newline gets one.
func prefixLines(r io.Reader, w io.Writer, mu *sync.Mutex, prefix string) error {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if line[len(line)-1] != '\n' {
				line += "\n"
			}
			mu.Lock()
			_, werr := io.WriteString(w, prefix+line)
			mu.Unlock()
			if werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
