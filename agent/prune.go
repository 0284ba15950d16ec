package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/executor/api"
)

// PruneResult is what PruneRuns did on one target.
type PruneResult struct {
	// Removed are the runs whose directories were deleted, newest first.
	Removed []string `json:"removed"`
	// Kept are the ended runs past the newest keep that stay, and why.
	Kept []KeptRun `json:"kept"`
}

// KeptRun is an ended run PruneRuns left on the target.
type KeptRun struct {
	ID  string `json:"id"`
	Why string `json:"why"`
}

// wholeHistory is the part of a History that says what it holds of a run
// (*history.Store is one).
type wholeHistory interface {
	HasLog(id string) bool
	HasMetrics(id string) bool
}

// PruneRuns deletes from the target the directories of its ended runs but
// the newest keep, each only once the local history holds everything the
// target has of it: its end, its log, its metrics and every file of its
// outputs/ (compared with the target's list, path and hash). A run going
// on, one this history does not know (started from another machine) and
// one with anything only on the target stay; Kept says why. With dryRun
// nothing is deleted and Removed lists what would be.
func (r *Runner) PruneRuns(ctx context.Context, conn *Conn, keep int, dryRun bool) (PruneResult, error) {
	res := PruneResult{Removed: []string{}, Kept: []KeptRun{}}
	hist, ok := r.History.(wholeHistory)
	if !ok {
		return res, errors.New("prune runs: this history cannot say what it holds")
	}
	runs, err := conn.Executor.ListRuns(ctx) // newest first
	if err != nil {
		return res, fmt.Errorf("list runs on %s: %w", conn.Target.Name, err)
	}
	ended := 0
	for _, run := range runs {
		if !run.Status.Terminal() {
			continue
		}
		if ended++; ended <= keep {
			continue
		}
		id := run.Spec.ID
		why, err := r.heldLocally(ctx, conn, hist, id)
		if err != nil {
			return res, err
		}
		if why != "" {
			res.Kept = append(res.Kept, KeptRun{ID: id, Why: why})
			continue
		}
		if !dryRun {
			if err := conn.RemoveRun(ctx, id); err != nil {
				return res, err
			}
		}
		res.Removed = append(res.Removed, id)
	}
	return res, nil
}

// heldLocally says what the local history lacks of run id ("" when it
// holds all the target has).
func (r *Runner) heldLocally(ctx context.Context, conn *Conn, hist wholeHistory, id string) (string, error) {
	rec, err := r.History.Get(ctx, id)
	switch {
	case errors.Is(err, history.ErrNotFound):
		return "not in this machine's history", nil
	case err != nil:
		return "", err
	case rec.Compute != conn.Target.Name:
		return "this history has a run of that id on " + rec.Compute, nil
	case !rec.Status.Terminal():
		return "its end is not recorded here yet ('ferry runs' records it)", nil
	case !hist.HasLog(id):
		return "its log is only on the target", nil
	case !hist.HasMetrics(id):
		return "its metrics are only on the target", nil
	}
	files, err := conn.Executor.Outputs(ctx, id)
	if err != nil {
		return "", fmt.Errorf("list outputs of run %s on %s: %w", id, conn.Target.Name, err)
	}
	if n := r.missingOutputs(rec.Outputs, files); n > 0 {
		return fmt.Sprintf("%d file(s) of its outputs/ only on the target ('ferry download --max-output-size 0 %s' brings them)", n, id), nil
	}
	return "", nil
}

// missingOutputs counts the target's outputs that the history's list, or
// the local store, lacks.
func (r *Runner) missingOutputs(have []api.OutputFile, target []api.OutputFile) int {
	held := make(map[api.OutputFile]bool, len(have))
	for _, f := range have {
		held[f] = true
	}
	n := 0
	for _, f := range target {
		if !held[f] || (f.Link == "" && (r.Outputs == nil || !r.Outputs.Has(f.Hash))) {
			n++
		}
	}
	return n
}
