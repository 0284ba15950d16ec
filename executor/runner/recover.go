package runner

import (
	"context"
	"os"

	"github.com/ferry-ml/ferry/executor/api"
)

// Reason of a run that was still being prepared when the daemon stopped.
const interruptedReason = "executor stopped while the run was being prepared"

// Recover resumes supervision after a daemon restart. For every run that is
// not terminal: a live shim (same pid and start time) is re-adopted and
// watched until it writes exit.json; a dead shim's exit.json is recorded; a
// dead shim without one makes the run Failed (never Completed) after its
// leftover processes are killed; a run whose shim never started is Failed.
// Call it once, after New and before serving.
func (r *Runner) Recover(ctx context.Context) error {
	r.mu.Lock()
	var pending []*runState
	for _, st := range r.runs {
		if !st.rec.Status.Terminal() && st.cancelPrep == nil && st.shim.PID == 0 {
			pending = append(pending, st)
		}
	}
	r.mu.Unlock()
	for _, st := range pending {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.recoverRun(st)
	}
	return nil
}

// recoverRun resolves one non-terminal run found on disk.
func (r *Runner) recoverRun(st *runState) {
	log := r.log.With("run_id", st.spec.ID)
	id, err := readShimIdentity(st.paths)
	if err != nil {
		if _, serr := os.Stat(st.paths.exit()); serr != nil {
			reason := lostReason
			if st.rec.Status != api.StatusRunning {
				reason = interruptedReason
			}
			log.Info("run lost while the executor was down", "reason", reason)
			r.removeContainer(st)
			r.fail(st, reason)
			return
		}
	}
	r.mu.Lock()
	st.shim = id
	closed := r.closed
	if !closed && st.rec.Status != api.StatusRunning && id.alive() {
		// The daemon died between starting the shim and recording it.
		r.markRunningLocked(st)
	}
	if !closed {
		r.wg.Add(1)
	}
	r.mu.Unlock()
	if closed {
		return
	}
	log.Info("re-adopting run", "shim_pid", id.PID, "alive", id.alive())
	go r.watchShim(st, nil)
}

// markRunningLocked records that st is running. Callers hold r.mu.
func (r *Runner) markRunningLocked(st *runState) {
	err := r.updateLocked(st, func(rec *api.Run) {
		rec.Status = api.StatusRunning
		if rec.StartedAt == nil {
			now := rec.CreatedAt
			rec.StartedAt = &now
		}
	})
	if err != nil {
		r.log.Warn("record recovered run", "run_id", st.spec.ID, "error", err)
	}
}
