package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
)

// livenessInterval is the safety re-check of a shim whose exit would
// otherwise go unnoticed: one the runner did not start (re-adopted after a
// restart) that died without writing exit.json.
const livenessInterval = 2 * time.Second

// lostReason is the Reason of a run whose shim vanished without a status.
const lostReason = "executor lost track of the run (shim exited without a status)"

// watchShim waits for the shim of st to write exit.json (woken by inotify on
// the run directory) or to die without doing so, then records the end.
// exited, when not nil, is closed once the shim (our child) was reaped.
func (r *Runner) watchShim(st *runState, exited <-chan struct{}) {
	defer r.wg.Done()
	log := r.log.With("run_id", st.spec.ID)
	wakeup, unsubscribe, err := r.files.subscribe(st.paths.dir(), st.paths.exit())
	if err != nil {
		log.Warn("watch run directory, checking periodically instead", "error", err)
	} else {
		defer unsubscribe()
	}
	ticker := time.NewTicker(livenessInterval)
	defer ticker.Stop()
	for !r.checkShim(st) {
		select {
		case <-wakeup:
		case <-exited:
			exited = nil
		case <-ticker.C:
		case <-r.ctx.Done():
			return
		}
	}
}

// checkShim records the end of st if its shim is done, and reports whether
// it was.
func (r *Runner) checkShim(st *runState) bool {
	r.mu.Lock()
	shim := st.shim
	r.mu.Unlock()
	if r.finishFromExitFile(st) {
		return true
	}
	if shim.alive() {
		return false
	}
	// Dead: it may have written exit.json just before dying.
	if r.finishFromExitFile(st) {
		return true
	}
	r.removeContainer(st)
	if n := killRunProcesses(st.spec.ID); n > 0 {
		r.log.Warn("killed processes left by a lost shim", "run_id", st.spec.ID, "count", n)
	}
	r.fail(st, lostReason)
	return true
}

// finishFromExitFile records the outcome in exit.json, if it exists.
func (r *Runner) finishFromExitFile(st *runState) bool {
	var rec exitRecord
	err := readJSON(st.paths.exit(), &rec)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		r.fail(st, fmt.Sprintf("read exit status: %v", err))
		return true
	}
	status, reason := outcome(rec, st.spec)
	code := rec.ExitCode
	if status == api.StatusCanceled {
		// A canceled run has no exit code of its own, whether it was stopped
		// before the script started, by SIGTERM or by the SIGKILL after the
		// grace period: one rule, whatever the script did with the signal.
		code = nil
	}
	if st.spec.Slurm != nil {
		reason = slurmReason(st, status, reason)
	}
	metrics := r.keepRunMetrics(st)
	now := time.Now().UTC()
	err = r.update(st, func(run *api.Run) {
		run.Status, run.ExitCode, run.Reason, run.EndedAt = status, code, reason, &now
		run.Metrics = metrics
		if fi, err := os.Stat(st.paths.log()); err == nil {
			run.LogSize = fi.Size()
		}
	})
	if err != nil && !errors.Is(err, ErrClosed) {
		r.log.Error("record run end", "run_id", st.spec.ID, "error", err)
	}
	return true
}

// keepRunMetrics keeps the metrics of st, which has ended, and notes in
// its log what was left out; nil when they could not be kept.
func (r *Runner) keepRunMetrics(st *runState) *api.MetricsInfo {
	log := r.log.With("run_id", st.spec.ID)
	info, notes, err := keepMetrics(metricsSources(st), st.paths.kept(), defaultLimits, log)
	if err != nil {
		log.Warn("keep metrics", "error", err)
		notes = []string{fmt.Sprintf("metrics were not kept: %v", err)}
	}
	for _, n := range notes {
		if err := appendLogLine(st.paths.log(), n); err != nil {
			log.Warn("note metrics left out", "error", err)
		}
	}
	if err != nil {
		return nil
	}
	return &info
}

// outcome maps what the shim saw to a status and a reason.
func outcome(rec exitRecord, spec api.RunSpec) (api.Status, string) {
	switch {
	case rec.Canceled && rec.KilledAfter != "":
		return api.StatusCanceled, killedNote(rec)
	case rec.Canceled:
		return api.StatusCanceled, "canceled"
	case rec.TimedOut && rec.KilledAfter != "":
		return api.StatusFailed, fmt.Sprintf("exceeded max duration %s; %s", spec.MaxDuration, killedNote(rec))
	case rec.TimedOut:
		return api.StatusFailed, fmt.Sprintf("exceeded max duration %s", spec.MaxDuration)
	case rec.ExitCode == nil:
		if rec.Reason == "" {
			return api.StatusFailed, "script status unknown"
		}
		return api.StatusFailed, rec.Reason
	case *rec.ExitCode == 0:
		return api.StatusCompleted, ""
	case rec.OOMKilled:
		return api.StatusFailed, fmt.Sprintf("killed by the kernel's OOM killer: out of memory (exit %d)", *rec.ExitCode)
	case rec.Signal == "SIGKILL":
		return api.StatusFailed, "killed by signal SIGKILL (exit 137; " + oomHint + ")"
	case rec.Signal != "":
		return api.StatusFailed, "killed by signal " + rec.Signal
	case *rec.ExitCode == 128+9:
		return api.StatusFailed, "exit status 137 (128+9: a process was killed by SIGKILL; " + oomHint + ")"
	default:
		return api.StatusFailed, fmt.Sprintf("exit status %d", *rec.ExitCode)
	}
}

// oomHint follows a SIGKILL that ferry did not send: the kernel's
// out-of-memory killer is its most common sender.
const oomHint = "out of memory? the kernel's OOM killer sends SIGKILL; see dmesg on the target"

// killedNote says that a run being stopped outlived SIGTERM.
func killedNote(rec exitRecord) string {
	return "killed (SIGKILL) after ignoring SIGTERM for the " + rec.KilledAfter + " grace period"
}
