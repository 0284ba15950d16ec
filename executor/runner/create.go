package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
)

// ErrInvalidSpec wraps every reason a RunSpec is refused at submission.
var ErrInvalidSpec = errors.New("invalid run spec")

// Create records a new run as Queued and prepares and starts it in the
// background; follow it with Get, Wait or the log. It fails with
// ErrInvalidRunID or ErrInvalidSpec for a bad spec and ErrRunExists for a
// duplicate id. ctx bounds only the submission, not the run.
func (r *Runner) Create(ctx context.Context, spec api.RunSpec) (api.Run, error) {
	if err := validateSpec(spec); err != nil {
		return api.Run{}, err
	}
	if err := ctx.Err(); err != nil {
		return api.Run{}, err
	}
	if spec.Slurm != nil {
		if err := r.checkSlurm(ctx, spec); err != nil {
			return api.Run{}, err
		}
	}
	st, err := r.register(spec)
	if err != nil {
		return api.Run{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return api.Run{}, ErrClosed
	}
	prepCtx, cancel := context.WithCancel(r.ctx)
	st.cancelPrep = cancel
	r.wg.Add(1)
	go r.prepare(prepCtx, st)
	return st.snapshot(), nil
}

// validateSpec checks what can be checked before anything is written.
func validateSpec(spec api.RunSpec) error {
	if err := validateRunID(spec.ID); err != nil {
		return err
	}
	switch {
	case spec.Script == "":
		return fmt.Errorf("%w: no script", ErrInvalidSpec)
	case spec.Snapshot == "":
		return fmt.Errorf("%w: no snapshot", ErrInvalidSpec)
	case spec.MaxDuration < 0:
		return fmt.Errorf("%w: negative max duration", ErrInvalidSpec)
	case spec.Slurm != nil:
		return validateSlurmSpec(spec)
	}
	return nil
}

// register creates the run directory (its creation is what makes the id
// taken), the empty log and the Queued record.
func (r *Runner) register(spec api.RunSpec) (*runState, error) {
	paths := runPaths(filepath.Join(r.runsDir, spec.ID))
	if err := os.Mkdir(paths.dir(), 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create run %s: %w", spec.ID, ErrRunExists)
		}
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	f, err := os.OpenFile(paths.log(), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create run log: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("create run log: %w", err)
	}
	if spec.Environment.Kind == "" {
		spec.Environment.Kind = envUserManaged
	}
	st := &runState{
		paths: paths,
		spec:  spec,
		done:  make(chan struct{}),
		rec: api.Run{
			Spec: spec, Status: api.StatusQueued, Dir: paths.dir(),
			CreatedAt: time.Now().UTC(),
		},
	}
	if err := writeJSONAtomic(paths.run(), st.rec); err != nil {
		return nil, fmt.Errorf("persist run %s: %w", spec.ID, err)
	}
	r.mu.Lock()
	r.runs[spec.ID] = st
	r.mu.Unlock()
	return st, nil
}

// Cancel asks run id to stop: a run still preparing ends Canceled at once, a
// running one once its shim has stopped the script (SIGTERM, then SIGKILL
// after the grace period). Canceling a terminal run changes nothing. It
// returns the run's current record.
func (r *Runner) Cancel(ctx context.Context, id string) (api.Run, error) {
	r.mu.Lock()
	st, ok := r.runs[id]
	if !ok {
		r.mu.Unlock()
		return api.Run{}, fmt.Errorf("cancel run %s: %w", id, ErrRunNotFound)
	}
	if st.rec.Status.Terminal() {
		defer r.mu.Unlock()
		return st.snapshot(), nil
	}
	st.cancelRequested = true
	if st.cancelPrep != nil {
		st.cancelPrep()
	}
	shim := st.shim
	r.mu.Unlock()
	if shim.PID != 0 {
		if err := shim.signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return api.Run{}, fmt.Errorf("cancel run %s: %w", id, err)
		}
	}
	return r.Get(id)
}
