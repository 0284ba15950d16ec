package agent

import (
	"context"
	"errors"
	"io"
)

// logReader is the part of a Remote that reads a run's log as it is.
type logReader interface {
	ReadLog(ctx context.Context, id string, offset int64, w io.Writer) error
}

// logKeeper is the part of a History that keeps finished runs' logs
// (*history.Store is one).
type logKeeper interface {
	PutLog(id string, r io.Reader) error
}

// keepLog copies the whole log of run id, which has ended, from the target
// into the local history, so that it can be read with no connection. It
// does nothing when either side cannot (a test fake).
func (r *Runner) keepLog(ctx context.Context, remote Remote, id string) error {
	lr, ok := remote.(logReader)
	lk, ok2 := r.History.(logKeeper)
	if !ok || !ok2 {
		return nil
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := lr.ReadLog(ctx, id, 0, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	err := lk.PutLog(id, pr)
	pr.CloseWithError(errors.New("log not kept")) // unblocks the reader when PutLog stopped early
	return errors.Join(err, ignoreClosed(<-done))
}

// ignoreClosed drops the error the reader sees when keepLog stopped it.
func ignoreClosed(err error) error {
	if errors.Is(err, io.ErrClosedPipe) {
		return nil
	}
	return err
}
