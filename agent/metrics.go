package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// metricsTries bounds how often ReadMetrics resumes a broken stream.
const metricsTries = 3

// ReadMetrics copies the kept metrics of run id, which has ended, to w
// (JSON lines, one api.Metric each). A stream that breaks off is resumed
// from the last byte written, so w sees every byte once.
func (c *Conn) ReadMetrics(ctx context.Context, id string, w io.Writer) error {
	var offset int64
	var errs []error
	for range metricsTries {
		body, size, err := c.Executor.Metrics(ctx, id, offset)
		if err != nil {
			return fmt.Errorf("read metrics of run %s: %w", id, err)
		}
		tw := &trackedWriter{w: w}
		n, err := io.Copy(tw, body)
		body.Close()
		offset += n
		if tw.err != nil {
			return tw.err
		}
		if offset == size {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		errs = append(errs, fmt.Errorf("stopped at byte %d of %d: %w", offset, size, err))
	}
	return fmt.Errorf("read metrics of run %s: %w", id, errors.Join(errs...))
}

// trackedWriter keeps the error of its writer, to tell it from a read's.
type trackedWriter struct {
	w   io.Writer
	err error
}

func (t *trackedWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		t.err = err
	}
	return n, err
}

// metricsReader is the part of a Remote that reads a run's kept metrics.
type metricsReader interface {
	ReadMetrics(ctx context.Context, id string, w io.Writer) error
}

// metricsKeeper is the part of a History that keeps finished runs'
// metrics (*history.Store is one).
type metricsKeeper interface {
	PutMetrics(id string, r io.Reader) error
	HasMetrics(id string) bool
}

// hasMetrics reports whether the history holds run id's metrics; true
// when it cannot keep any (a test fake), so that nothing waits for them.
func (r *Runner) hasMetrics(id string) bool {
	mk, ok := r.History.(metricsKeeper)
	return !ok || mk.HasMetrics(id)
}

// keepMetrics copies the metrics of run id, which has ended, from the
// target into the local history, streaming. It does nothing when either
// side cannot (a test fake).
func (r *Runner) keepMetrics(ctx context.Context, remote Runs, id string) error {
	mr, ok := remote.(metricsReader)
	mk, ok2 := r.History.(metricsKeeper)
	if !ok || !ok2 {
		return nil
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := mr.ReadMetrics(ctx, id, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	err := mk.PutMetrics(id, pr)
	pr.CloseWithError(errors.New("metrics not kept")) // unblocks the reader when PutMetrics stopped early
	return errors.Join(err, ignoreClosed(<-done))
}
