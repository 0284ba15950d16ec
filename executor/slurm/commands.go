package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/ferry-ml/ferry/executor/api"
)

// CommandFunc runs one Slurm command (sbatch, squeue, ...) in dir and
// returns its stdout and stderr; err is an *exec.ExitError when it ran and
// failed.
type CommandFunc func(ctx context.Context, dir, name string, args ...string) (stdout, stderr []byte, err error)

// Exec is the CommandFunc that runs the real commands.
func Exec(ctx context.Context, dir, name string, args ...string) ([]byte, []byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.Bytes(), stderr.Bytes(), err
}

// Error is a Slurm command's refusal, with the command's own message word
// for word (for example "sbatch: error: Batch job submission failed:
// Invalid partition name specified").
type Error struct {
	Command string
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Command + " failed"
	}
	return e.Message
}

// commandError turns a failed command into an *Error carrying its stderr,
// or wraps err when the command could not run at all.
func commandError(name string, stdout, stderr []byte, err error) error {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		msg := strings.TrimSpace(string(stderr))
		if msg == "" {
			msg = strings.TrimSpace(string(stdout))
		}
		return &Error{Command: name, Message: msg}
	}
	return fmt.Errorf("run %s: %w", name, err)
}

// Submit runs `sbatch ARGS SCRIPT` in dir and returns the job id.
func Submit(ctx context.Context, run CommandFunc, dir string, args []string, script string) (string, error) {
	stdout, stderr, err := run(ctx, dir, "sbatch", append(append([]string(nil), args...), script)...)
	if err != nil {
		return "", commandError("sbatch", stdout, stderr, err)
	}
	// --parsable prints "id" or "id;cluster".
	id, _, _ := strings.Cut(strings.TrimSpace(string(stdout)), ";")
	if id == "" {
		return "", fmt.Errorf("sbatch printed no job id (output: %q)", stdout)
	}
	return id, nil
}

// Cancel runs `scancel ID`.
func Cancel(ctx context.Context, run CommandFunc, id string) error {
	stdout, stderr, err := run(ctx, "", "scancel", id)
	if err != nil {
		return commandError("scancel", stdout, stderr, err)
	}
	return nil
}

// Query returns the job's state as squeue reports it, falling back to
// sacct once squeue no longer knows the job; ok is false when neither
// does (the job ended long ago, and the cluster keeps no accounting).
func Query(ctx context.Context, run CommandFunc, id string) (job api.SlurmJob, ok bool, err error) {
	stdout, stderr, err := run(ctx, "", "squeue", "-h", "-t", "all", "-j", id, "-o", "%T|%r|%N")
	if err != nil && !bytes.Contains(stderr, []byte("Invalid job id")) {
		return job, false, commandError("squeue", stdout, stderr, err)
	}
	if job, ok := parseSqueue(id, stdout); ok {
		return job, true, nil
	}
	stdout, _, err = run(ctx, "", "sacct", "-n", "-X", "-P", "-j", id, "-o", "State,Reason,NodeList")
	if err != nil { // accounting disabled: "Slurm accounting storage is disabled"
		return job, false, nil
	}
	job, ok = parseSqueue(id, stdout)
	return job, ok, nil
}

// parseSqueue reads the first "STATE|REASON|NODES" line.
func parseSqueue(id string, out []byte) (api.SlurmJob, bool) {
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	f := strings.Split(line, "|")
	if len(f) < 3 || f[0] == "" {
		return api.SlurmJob{}, false
	}
	// sacct writes "CANCELLED by 1000".
	state, _, _ := strings.Cut(strings.TrimSpace(f[0]), " ")
	reason := strings.TrimSpace(f[1])
	if reason == "None" {
		reason = ""
	}
	return api.SlurmJob{ID: id, State: state, Reason: reason, Nodes: strings.TrimSpace(f[2])}, true
}

// Active reports whether a job in state still holds or waits for
// resources.
func Active(state string) bool {
	switch state {
	case "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED",
		"REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "SUBMITTING":
		return true
	}
	return false
}
