package agent

import (
	"context"
	"errors"
	"io"

	"github.com/ferry-ml/ferry/executor/api"
)

// Follow streams run id's log from byte offset to w until the run has
// ended, and returns its final record. A lost connection is made again
// (see Runner.ReconnectFor) and the stream resumes at the next byte: w
// sees every byte once. When stop closes (or ctx ends, with CancelOnDone)
// it cancels the run on the target and follows on until the run has ended
// (at most CancelWait). Otherwise the end of ctx only stops following and
// returns ctx's error: the run goes on.
//
// Many Follows of one run may run at once (each its own viewer), each on
// a Remote of its own or on one whose calls may run concurrently.
func (r *Runner) Follow(ctx context.Context, remote Remote, id string, offset int64, w io.Writer, stop <-chan struct{}) (api.Run, error) {
	out := &countingWriter{w: w, n: offset}
	canceled := false
	for {
		run, stopped, err := r.followOnce(ctx, remote, id, out, stop, canceled)
		canceled = canceled || stopped
		if !errors.Is(err, ErrConnLost) {
			return run, err
		}
		if err := r.relink(ctx, remote); err != nil {
			return run, err
		}
	}
}

// followOnce follows the run from out's count on the current connection;
// stopped reports that it canceled the run (or tried). With cancelNow it
// cancels the run at once (a cancel asked for on a connection lost since).
func (r *Runner) followOnce(ctx context.Context, remote Remote, id string, out *countingWriter, stop <-chan struct{}, cancelNow bool) (api.Run, bool, error) {
	base, done := ctx, (<-chan struct{})(nil)
	if r.CancelOnDone {
		base, done = context.WithoutCancel(ctx), ctx.Done()
	}
	fctx, cancel := context.WithCancel(base)
	defer cancel()
	helper := make(chan bool, 1)
	go func() {
		if !cancelNow {
			select {
			case <-stop:
			case <-done:
			case <-fctx.Done():
				helper <- false
				return
			}
		}
		r.cancelAndWait(fctx, remote, id)
		helper <- true
		cancel()
	}()
	run, err := remote.Follow(fctx, id, out.n, out)
	cancel()
	return run, <-helper, err
}

// cancelAndWait cancels the run, then waits until fctx ends (the follow
// saw the run end) or CancelWait passes.
func (r *Runner) cancelAndWait(fctx context.Context, remote Remote, id string) {
	cctx, c := context.WithTimeout(fctx, r.cancelWait())
	defer c()
	if _, err := remote.Cancel(cctx, id); err != nil {
		r.logger().Warn("cannot cancel run", "run_id", id, "error", err)
	}
	<-cctx.Done()
}

// countingWriter counts the bytes written through it (so that a follow cut
// by a lost connection resumes where it stopped; what an install sent).
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
