package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/client"
	"github.com/ferry-ml/ferry/snapshot"
)

// Submit starts a run on the target. The snapshot must have been synced.
func (c *Conn) Submit(ctx context.Context, spec api.RunSpec) (api.Run, error) {
	r, err := c.Executor.CreateRun(ctx, spec)
	if err != nil {
		return r, fmt.Errorf("start run %s on %s: %w", spec.ID, c.Target.Name, err)
	}
	return r, nil
}

// Run returns the executor's record of a run.
func (c *Conn) Run(ctx context.Context, id string) (api.Run, error) {
	r, err := c.Executor.GetRun(ctx, id)
	if err != nil {
		return r, fmt.Errorf("get run %s from %s: %w", id, c.Target.Name, err)
	}
	return r, nil
}

// Cancel asks the executor to stop a run.
func (c *Conn) Cancel(ctx context.Context, id string) (api.Run, error) {
	r, err := c.Executor.CancelRun(ctx, id)
	if err != nil {
		return r, fmt.Errorf("cancel run %s on %s: %w", id, c.Target.Name, err)
	}
	return r, nil
}

// RemoveRun deletes the directory of a run that has ended from the target:
// its working tree, log, metrics and outputs/. Call it only once the local
// history has kept them (Finished.Kept).
func (c *Conn) RemoveRun(ctx context.Context, id string) error {
	if err := c.Executor.RemoveRun(ctx, id); err != nil {
		return fmt.Errorf("remove run %s from %s: %w", id, c.Target.Name, err)
	}
	return nil
}

// Follow copies the run's log from offset to w as it is written, until the
// run has ended and every byte was copied, and returns the run's final
// record. A broken stream (a dropped connection, an executor restart) is
// resumed from the last byte written, so w sees every byte exactly once.
// It returns ctx's error when ctx ends first; the run goes on.
func (c *Conn) Follow(ctx context.Context, id string, offset int64, w io.Writer) (api.Run, error) {
	const maxRetries = 5
	retries := 0
	for {
		// Calls end as soon as the connection is found lost: a stream may
		// end before the loss is known (through the keeper, say), and a
		// call made then would wait on a dead or frozen link.
		lctx, unlink := c.whileLinked(ctx)
		n, err := c.followOnce(lctx, id, offset, w)
		offset += n
		if ctx.Err() != nil {
			unlink()
			return api.Run{}, ctx.Err()
		}
		var werr *writeError
		if errors.As(err, &werr) {
			unlink()
			return api.Run{}, werr.err
		}
		r, rerr := api.Run{}, error(nil)
		if !c.Lost() {
			r, rerr = c.Executor.GetRun(lctx, id)
			if rerr != nil && !c.Lost() && !errors.Is(rerr, client.ErrNotFound) {
				c.reensure(lctx)
			}
		}
		unlink()
		if c.Lost() {
			return api.Run{}, fmt.Errorf("follow log of run %s: %w", id, ErrConnLost)
		}
		if rerr == nil && r.Status.Terminal() && offset >= r.LogSize {
			return r, nil
		}
		if errors.Is(rerr, client.ErrNotFound) {
			return r, fmt.Errorf("run %s not found on %s", id, c.Target.Name)
		}
		if n > 0 {
			retries = 0
		}
		if retries++; retries > maxRetries {
			return r, fmt.Errorf("follow log of run %s: %w", id, errors.Join(err, rerr))
		}
		c.logger.Debug("resuming log stream", "run_id", id, "offset", offset, "error", err)
		select {
		case <-time.After(time.Duration(retries) * 200 * time.Millisecond):
		case <-c.ep.lostC():
		case <-ctx.Done():
			return api.Run{}, ctx.Err()
		}
	}
}

// whileLinked returns ctx, also canceled once the connection is lost.
func (c *Conn) whileLinked(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	if lost := c.ep.lostC(); lost != nil {
		go func() { // ends with ctx, which the caller's cancel ends
			select {
			case <-lost:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	return ctx, cancel
}

// reensure starts the executor again when it stopped (killed, or the
// target rebooted), so that a follow can resume; the runs outlive it.
func (c *Conn) reensure(ctx context.Context) {
	old := c.Executor
	if err := c.ensureExecutor(ctx); err != nil {
		c.logger.Debug("executor still unreachable", "error", err)
		if c.Executor == nil {
			c.Executor = old
		}
		return
	}
	if old != nil && old != c.Executor {
		old.Close()
	}
}

// writeError marks a failure to write to the local output (not retryable).
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

func (c *Conn) followOnce(ctx context.Context, id string, offset int64, w io.Writer) (int64, error) {
	body, err := c.Executor.Log(ctx, id, offset, true)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	var n int64
	buf := make([]byte, 32<<10)
	for {
		k, rerr := body.Read(buf)
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				return n, &writeError{fmt.Errorf("write log: %w", werr)}
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// ReadLog copies the log from offset to w without following.
func (c *Conn) ReadLog(ctx context.Context, id string, offset int64, w io.Writer) error {
	body, err := c.Executor.Log(ctx, id, offset, false)
	if err != nil {
		return fmt.Errorf("read log of run %s: %w", id, err)
	}
	defer body.Close()
	if _, err := io.Copy(w, body); err != nil {
		return fmt.Errorf("read log of run %s: %w", id, err)
	}
	return nil
}

// MissingBlobs lists the blobs of m the target lacks (one round trip).
func (c *Conn) MissingBlobs(ctx context.Context, m *snapshot.Manifest) ([]string, error) {
	ids, err := c.Executor.Missing(ctx, blobIDs(m.Entries), false)
	if err != nil {
		return nil, fmt.Errorf("ask %s for missing blobs: %w", c.Target.Name, err)
	}
	return ids, nil
}

// Blob streams a blob stored on the target; the caller closes it.
func (c *Conn) Blob(ctx context.Context, id string) (io.ReadCloser, error) {
	body, err := c.Executor.Blob(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("read blob %.8s from %s: %w", id, c.Target.Name, err)
	}
	return body, nil
}
