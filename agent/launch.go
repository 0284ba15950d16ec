package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/client"
	"github.com/ferry-ml/ferry/snapshot"
)

// Launch records plan's run on snapshot m in the history (Queued), gets
// the connection from connect (which may still be dialing: recording
// overlaps it), makes it again when it was lost, syncs the snapshot and
// submits the run. When the connection drops during the sync or the
// submit, it is made again and the run submitted again unless it had
// reached the target.
//
// A failure records the run Failed and is returned, except the target's
// refusal of the run (a *RefusedError: a bad spec, which the target
// created nothing for): the run is then removed from the history, so that
// bad input leaves no trace. When the run reached
// the target but the history could not record that, the error is a
// *RecordError and the connection and run are returned as on success. When stop closes or
// ctx ends before the run reached the target, the run is recorded
// Canceled and the error is ErrStopped (joined with ctx's error when ctx
// ended). The connection, once connect returned it, is returned even on
// error; the caller closes it.
func (r *Runner) Launch(ctx context.Context, connect func(context.Context) (Remote, error), plan Plan, m *snapshot.Manifest, stop <-chan struct{}) (Remote, api.Run, error) {
	if err := r.History.Put(ctx, NewRecord(ctx, plan, m, r.logger())); err != nil {
		return nil, api.Run{}, err
	}
	defer r.keepManifest(plan.ID, m)() // beside the sync: compressing it takes a few ms
	prep, cancel := stopContext(ctx, stop)
	defer cancel()
	remote, err := connect(prep)
	if err != nil {
		return nil, api.Run{}, r.notStarted(ctx, prep, plan.ID, err)
	}
	run, err := r.submit(prep, remote, plan, m)
	var recErr *RecordError
	if errors.As(err, &recErr) {
		return remote, run, err // it runs there; only the history lags
	}
	var refused *RefusedError
	if errors.As(err, &refused) {
		return remote, run, r.forget(ctx, plan.ID, refused)
	}
	if err != nil {
		return remote, run, r.notStarted(ctx, prep, plan.ID, err)
	}
	return remote, run, nil
}

// keepManifest keeps m in the local manifest store (for reruns) on a
// goroutine of its own; the returned func waits for it. A failure is
// logged: only a rerun after the source changed needs the manifest.
func (r *Runner) keepManifest(id string, m *snapshot.Manifest) (wait func()) {
	if r.Manifests == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Manifests.Put(m); err != nil {
			r.logger().Warn("cannot keep the snapshot's manifest; this run cannot be rerun after its source changes", "run_id", id, "error", err)
		}
	}()
	return func() { <-done }
}

// RefusedError is a target's refusal of a run spec (Slurm would not take
// the job, say): the target created nothing, and Launch keeps no record.
type RefusedError struct {
	RunID   string
	Compute string
	// Reason is the target's own words.
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("compute target %s refused run %s: %s", e.Compute, e.RunID, e.Reason)
}

// refusal turns the executor's 400 answer to a submit into a
// *RefusedError; other errors pass unchanged.
func refusal(compute, id string, err error) error {
	var ae *client.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
		return &RefusedError{RunID: id, Compute: compute, Reason: ae.Message}
	}
	return err
}

// forget removes a refused run from the history.
func (r *Runner) forget(ctx context.Context, id string, refused *RefusedError) error {
	if err := r.History.Delete(context.WithoutCancel(ctx), id); err != nil {
		return errors.Join(refused, err)
	}
	return refused
}

// stopContext is ctx, also canceled when stop closes.
func stopContext(ctx context.Context, stop <-chan struct{}) (context.Context, context.CancelFunc) {
	sctx, cancel := context.WithCancel(ctx)
	if stop == nil {
		return sctx, cancel
	}
	go func() {
		select {
		case <-stop:
			cancel()
		case <-sctx.Done():
		}
	}()
	return sctx, cancel
}

// notStarted records a run that never reached the target: Canceled when
// prep ended (stopped), else Failed with cause.
func (r *Runner) notStarted(ctx, prep context.Context, id string, cause error) error {
	now := time.Now().UTC()
	status, reason, ret := api.StatusFailed, cause.Error(), cause
	if prep.Err() != nil {
		status, reason, ret = api.StatusCanceled, "canceled before it started", ErrStopped
		if ctx.Err() != nil {
			ret = errors.Join(ErrStopped, ctx.Err())
		}
	}
	if err := r.History.UpdateStatus(context.WithoutCancel(ctx), id, status, nil, reason, nil, &now); err != nil {
		return errors.Join(ret, err)
	}
	return ret
}

// submit syncs and submits; a connection lost on the way is made again
// and the run submitted again unless it reached the target.
func (r *Runner) submit(ctx context.Context, remote Remote, plan Plan, m *snapshot.Manifest) (api.Run, error) {
	if err := r.relink(ctx, remote); err != nil {
		return api.Run{}, err
	}
	run, err := r.syncSubmit(ctx, remote, plan, m)
	if err == nil || !remote.Lost() || ctx.Err() != nil {
		return run, err
	}
	if rerr := r.relink(ctx, remote); rerr != nil {
		return run, fmt.Errorf("connection to %s lost before the run started: %w", remote.Name(), errors.Join(err, rerr))
	}
	if got, gerr := remote.Run(ctx, plan.ID); gerr == nil {
		return got, r.record(ctx, got) // it started before the link dropped
	}
	return r.syncSubmit(ctx, remote, plan, m)
}

// syncSubmit uploads what the target lacks, then starts the run.
func (r *Runner) syncSubmit(ctx context.Context, remote Remote, plan Plan, m *snapshot.Manifest) (api.Run, error) {
	root := plan.Source
	if plan.Blobs != nil {
		dir, cleanup, err := plan.Blobs.stage(ctx, remote, m)
		if err != nil {
			return api.Run{}, err
		}
		defer cleanup()
		root = dir
	}
	res, err := remote.Sync(ctx, root, m, r.Hooks.Upload)
	if r.Hooks.Synced != nil {
		r.Hooks.Synced(res, err)
	}
	if err != nil {
		return api.Run{}, err
	}
	run, err := remote.Submit(ctx, plan.RunSpec(m.ID().String()))
	if err != nil {
		return run, refusal(remote.Name(), plan.ID, err)
	}
	return run, r.record(ctx, run)
}

// RecordError says that the local history could not record what the
// target reported of a run (a full disk, say): the run itself goes on or
// ended there as Status says, but ferry runs would show a stale status.
type RecordError struct {
	RunID  string
	Status api.Status
	Err    error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("run %s is %s on the target, but the local history could not record it: %v", e.RunID, e.Status, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// record applies the executor's view of a run to the history; a failure
// is a *RecordError (the run itself goes on).
func (r *Runner) record(ctx context.Context, run api.Run) error {
	if err := r.History.ApplyRun(ctx, run); err != nil {
		return &RecordError{RunID: run.Spec.ID, Status: run.Status, Err: err}
	}
	return nil
}
