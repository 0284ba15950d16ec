package slurm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/hashicorp/go-hclog"
)

// Exit statuses of the driver besides a failing rank's own code.
const (
	exitFailed   = 1
	exitCanceled = 128 + 15 // as if killed by SIGTERM
)

// Driver submits one run's batch job and follows it to the end.
type Driver struct {
	Job Job
	// Run runs Slurm's commands; nil means Exec.
	Run CommandFunc
	// Log receives diagnostics; nil discards them.
	Log hclog.Logger
	// Out receives the lines meant for the user (the run's log).
	Out io.Writer
}

// pollInterval is how often squeue is asked about a job that has run for
// age: often at first, when a short job's status matters most, then less.
func pollInterval(age time.Duration) time.Duration {
	switch {
	case age < 10*time.Second:
		return 200 * time.Millisecond
	case age < time.Minute:
		return time.Second
	}
	return 3 * time.Second
}

// Drive submits the job, records its state in slurm.json as it changes,
// cancels it (scancel) once cancel is closed or receives, and returns the
// driver's exit status: 0 when every rank exited 0, the first failing
// rank's code, exitCanceled after a cancel, exitFailed otherwise.
func (d *Driver) Drive(ctx context.Context, cancel <-chan os.Signal) int {
	d.defaults()
	id, err := d.submit(ctx)
	if err != nil {
		d.say("%v", err)
		_ = writeState(d.Job.Dir, api.SlurmJob{State: "FAILED", Reason: err.Error()})
		return exitFailed
	}
	d.Log.Debug("submitted", "job_id", id)
	last, canceled := d.follow(ctx, id, cancel)
	if canceled {
		last.Reason = "canceled"
		_ = writeState(d.Job.Dir, last)
		return exitCanceled
	}
	return d.finish(last)
}

func (d *Driver) defaults() {
	if d.Run == nil {
		d.Run = Exec
	}
	if d.Log == nil {
		d.Log = hclog.NewNullLogger()
	}
	if d.Out == nil {
		d.Out = io.Discard
	}
}

// submit writes the batch script and runs sbatch.
func (d *Driver) submit(ctx context.Context) (string, error) {
	j := d.Job
	if err := os.MkdirAll(filepath.Join(j.Dir, RanksDir), 0o700); err != nil {
		return "", fmt.Errorf("create ranks directory: %w", err)
	}
	script := filepath.Join(j.Dir, ScriptFile)
	if err := os.WriteFile(script, []byte(BatchScript(j)), 0o700); err != nil {
		return "", fmt.Errorf("write batch script: %w", err)
	}
	if err := writeState(j.Dir, api.SlurmJob{State: "SUBMITTING"}); err != nil {
		return "", err
	}
	id, err := Submit(ctx, d.Run, j.Dir, SbatchArgs(j), script)
	if err != nil {
		return "", err
	}
	return id, writeState(j.Dir, api.SlurmJob{ID: id, State: "PENDING"})
}

// Timing of a cancel; variables so that tests can shorten them.
var (
	// rescancelInterval: while a canceled job is still pending or running
	// (scancel failed, or slurmctld was too busy to take it), scancel is
	// sent again this often.
	rescancelInterval = 2 * time.Second
	// scancelTimeout bounds one scancel (it retries for MessageTimeout,
	// 10 s by default, when slurmctld does not answer).
	scancelTimeout = 15 * time.Second
	// cancelGiveUp bounds the driver's wait for a canceled job to end
	// (within the shim's grace for it, runner.clusterDriverGrace).
	cancelGiveUp = 45 * time.Second
)

// follow polls squeue until the job is no longer active and returns its
// last known state; canceled reports that a cancel came first. After a
// cancel it sends scancel again while the job still runs, for
// cancelGiveUp at most.
func (d *Driver) follow(ctx context.Context, id string, cancel <-chan os.Signal) (api.SlurmJob, bool) {
	last := api.SlurmJob{ID: id, State: "PENDING"}
	start := time.Now()
	var c canceler
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-cancel:
			c.start(d, ctx, id)
			cancel = nil
		case <-timer.C:
		case <-ctx.Done():
			return last, c.canceled()
		}
		job, known, err := Query(ctx, d.Run, id)
		switch {
		case err != nil:
			d.Log.Warn("query job", "job_id", id, "error", err)
		case !known:
			last.State = "GONE"
			return last, c.canceled()
		case job != last:
			last = job
			if err := writeState(d.Job.Dir, job); err != nil {
				d.Log.Warn("record job state", "error", err)
			}
		}
		if known && err == nil && !Active(job.State) {
			return last, c.canceled()
		}
		wait := pollInterval(time.Since(start))
		if c.canceled() {
			if !c.again(d, ctx, id, last.State) {
				return last, true
			}
			wait = 100 * time.Millisecond
		}
		timer.Reset(wait)
	}
}

// canceler sends scancel for a canceled job, and again while the job
// still runs.
type canceler struct {
	at, last time.Time // first and latest scancel; zero before a cancel
}

func (c *canceler) canceled() bool { return !c.at.IsZero() }

// start sends the first scancel.
func (c *canceler) start(d *Driver, ctx context.Context, id string) {
	if c.canceled() {
		return
	}
	c.at = time.Now()
	c.send(d, ctx, id)
}

// again sends scancel again when the job, in state, still waits or runs
// rescancelInterval after the last one; it returns false once the driver
// should stop waiting (cancelGiveUp passed), saying so in the run's log.
func (c *canceler) again(d *Driver, ctx context.Context, id, state string) bool {
	if time.Since(c.at) > cancelGiveUp {
		d.say("Slurm job %s is still %s %s after it was canceled; ferry stops following it: check it with squeue -j %s and cancel it with scancel %s", id, state, cancelGiveUp, id, id)
		return false
	}
	stillRuns := state == "PENDING" || state == "RUNNING" || state == "SUSPENDED" || state == "CONFIGURING" || state == "REQUEUED"
	if stillRuns && time.Since(c.last) >= rescancelInterval {
		c.send(d, ctx, id)
	}
	return true
}

// send runs scancel once; resent says whether one was sent before.
func (c *canceler) send(d *Driver, ctx context.Context, id string) {
	resent := !c.last.IsZero()
	c.last = time.Now()
	d.Log.Debug("canceling", "job_id", id, "again", resent)
	sctx, cancel := context.WithTimeout(ctx, scancelTimeout)
	defer cancel()
	switch err := Cancel(sctx, d.Run, id); {
	case err != nil:
		d.Log.Warn("scancel", "job_id", id, "error", err)
		d.say("%v; trying again", err)
	case resent:
		d.say("scancel %s sent again: the job still ran", id)
	}
}

// finish decides the run's outcome from the ranks' exit records and the
// job's final state, records it and returns the exit status.
func (d *Driver) finish(last api.SlurmJob) int {
	n := d.Job.Spec.Processes()
	exits, missing := readRankExits(d.Job.Dir, n)
	for i := 0; len(missing) > 0 && i < 10; i++ {
		// A shared file system may show the last records late.
		time.Sleep(100 * time.Millisecond)
		exits, missing = readRankExits(d.Job.Dir, n)
	}
	code, reason, rank := outcome(last, exits, missing)
	last.Reason, last.FailedRank = reason, rank
	if err := writeState(d.Job.Dir, last); err != nil {
		d.Log.Warn("record job state", "error", err)
	}
	if code != 0 {
		d.say("%s", reason)
	}
	return code
}

// abnormal lists the end states in which Slurm itself ended the job.
var abnormal = map[string]bool{
	"NODE_FAIL": true, "TIMEOUT": true, "OUT_OF_MEMORY": true, "PREEMPTED": true,
	"BOOT_FAIL": true, "DEADLINE": true, "CANCELLED": true,
}

// outcome maps the job's end to an exit status, a reason and the failing
// rank.
func outcome(last api.SlurmJob, exits []RankExit, missing []int) (int, string, *int) {
	first := firstFailure(exits)
	if abnormal[last.State] {
		reason := fmt.Sprintf("Slurm job %s ended %s", last.ID, last.State)
		if last.Reason != "" {
			reason += " (" + last.Reason + ")"
		}
		if last.State == "CANCELLED" {
			reason += ", canceled outside ferry"
		}
		if len(missing) > 0 {
			reason += "; " + noExit(missing)
		}
		if first != nil {
			return failCode(first), reason + "; " + first.describe(), &first.Rank
		}
		return exitFailed, reason, firstOf(missing)
	}
	if first != nil {
		return failCode(first), first.describe(), &first.Rank
	}
	if len(missing) > 0 {
		return exitFailed, fmt.Sprintf("Slurm job %s ended %s; %s", last.ID, last.State, noExit(missing)), firstOf(missing)
	}
	return 0, "", nil
}

func failCode(e *RankExit) int {
	if e.ExitCode == nil || *e.ExitCode == 0 {
		return exitFailed
	}
	return *e.ExitCode
}

func firstOf(ranks []int) *int {
	if len(ranks) == 0 {
		return nil
	}
	r := ranks[0]
	return &r
}

// noExit says which ranks left no exit status.
func noExit(ranks []int) string {
	s := make([]string, len(ranks))
	for i, r := range ranks {
		s[i] = strconv.Itoa(r)
	}
	word := "rank"
	if len(ranks) > 1 {
		word = "ranks"
	}
	return fmt.Sprintf("%s %s left no exit status", word, strings.Join(s, ", "))
}

// say writes one "ferry: ..." line for the user.
func (d *Driver) say(format string, args ...any) {
	fmt.Fprintf(d.Out, "ferry: "+format+"\n", args...)
}

// errNoRunDir is returned by Main without --run-dir.
var errNoRunDir = errors.New("missing --run-dir")
