package agent

import (
	"context"
	"errors"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/executor/api"
)

// Finished is how a followed run ended, as recorded.
type Finished struct {
	Run api.Run
	// Outputs is the number of files in the run's outputs/, collected.
	Outputs int
	// Skipped is the number of files of outputs/ left on the target
	// (over MaxOutputSize).
	Skipped int
	// OutputsErr says why the outputs were not collected (nil: they were).
	OutputsErr error
	// KeepErr says why the log or the metrics were not kept locally.
	KeepErr error
	// RecordErr says why the history could not record the run's end (a
	// *RecordError; nil: it did). The record then shows a stale status.
	RecordErr error
}

// Finish records a run that has ended (status, exit code, metrics), keeps
// its log in the local history and collects its outputs/ into the local
// store.
func (r *Runner) Finish(ctx context.Context, remote Remote, run api.Run) Finished {
	recErr := r.record(ctx, run)
	keepErr := r.KeepEnded(ctx, remote, run.Spec.ID)
	got, err := r.collectOutputs(ctx, remote, run.Spec.ID)
	return Finished{Run: run, Outputs: len(got.Files), Skipped: len(got.Skipped), OutputsErr: err,
		KeepErr: keepErr, RecordErr: recErr}
}

// Kept reports whether everything the run left is in the local history:
// its end, log and metrics recorded, and all of its outputs/ collected.
// Only then may its directory go from the target (RemoveRun).
func (f Finished) Kept() bool {
	return f.RecordErr == nil && f.KeepErr == nil && f.OutputsErr == nil && f.Skipped == 0
}

// CollectOutputs brings run id's outputs/ into the local store and
// records the list; it returns the number of files.
func (r *Runner) CollectOutputs(ctx context.Context, remote Remote, id string) (int, error) {
	got, err := r.collectOutputs(ctx, remote, id)
	return len(got.Files), err
}

func (r *Runner) collectOutputs(ctx context.Context, remote Remote, id string) (FetchedOutputs, error) {
	got, err := remote.FetchOutputs(ctx, id, r.Outputs, r.MaxOutputSize)
	if err != nil {
		return FetchedOutputs{}, err
	}
	if len(got.Skipped) > 0 && r.Hooks.OutputsSkipped != nil {
		r.Hooks.OutputsSkipped(id, got)
	}
	if err := r.History.SetOutputs(ctx, id, "", got.Files); err != nil {
		return FetchedOutputs{}, err
	}
	return got, nil
}

// Refresh records what the target says of rec's run, collects its
// outputs once it has ended, and returns the updated record.
func (r *Runner) Refresh(ctx context.Context, remote Remote, rec history.Record) (history.Record, error) {
	run, err := remote.Run(ctx, rec.ID)
	if err != nil {
		return rec, err
	}
	if err := r.History.ApplyRun(ctx, run); err != nil {
		return rec, err
	}
	if run.Status.Terminal() && !rec.Status.Terminal() {
		r.KeepEnded(ctx, remote, rec.ID)
	} else if run.Status.Terminal() && !r.hasMetrics(rec.ID) {
		// Recorded as ended elsewhere (ferry cancel, download) without them.
		if err := r.keepMetrics(ctx, remote, rec.ID); err != nil {
			r.logger().Warn("cannot keep the run's metrics locally", "run_id", rec.ID, "error", err)
		}
	}
	// A run seen ending now, or ended with its outputs never collected.
	if run.Status.Terminal() && (!rec.Status.Terminal() || rec.Outputs == nil) {
		if _, err := r.CollectOutputs(ctx, remote, rec.ID); err != nil {
			r.logger().Warn("cannot collect outputs", "run_id", rec.ID, "error", err)
		}
	}
	return r.History.Get(ctx, rec.ID)
}

// KeepEnded copies the log and the metrics of run id, which has ended,
// into the local history; either failing is logged, not fatal: the run's
// end is recorded already. Whoever records a run's end calls it once. It
// returns what failed, for a caller that would remove the run's
// directory from the target afterwards.
func (r *Runner) KeepEnded(ctx context.Context, remote Remote, id string) error {
	logErr := r.keepLog(ctx, remote, id)
	if logErr != nil {
		r.logger().Warn("cannot keep the run's log locally", "run_id", id, "error", logErr)
	}
	metErr := r.keepMetrics(ctx, remote, id)
	if metErr != nil {
		r.logger().Warn("cannot keep the run's metrics locally", "run_id", id, "error", metErr)
	}
	return errors.Join(logErr, metErr)
}
