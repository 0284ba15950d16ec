package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/slurm"
	"github.com/hashicorp/go-hclog"
)

// DefaultKillGrace is how long a canceled script gets between SIGTERM and
// SIGKILL when Config.KillGrace is zero.
const DefaultKillGrace = 10 * time.Second

// Sentinel errors callers branch on (the HTTP handler maps them to codes).
var (
	// ErrRunNotFound: no run has that id.
	ErrRunNotFound = errors.New("run not found")
	// ErrRunExists: a run with that id was already submitted.
	ErrRunExists = errors.New("run already exists")
	// ErrClosed: the runner was closed.
	ErrClosed = errors.New("runner closed")
)

// Materializer writes a stored snapshot out as a directory tree. The daemon's
// blob store implements it.
type Materializer interface {
	// Materialize writes the files of snapshot snapshotID into dir, which
	// exists and is empty. It returns early with an error when ctx ends.
	// It may be called concurrently for different directories.
	Materialize(ctx context.Context, snapshotID, dir string) error
}

// Config configures a Runner.
type Config struct {
	// StateDir is the executor's state directory; runs live under
	// StateDir/runs and the Python helper under StateDir/lib/python.
	StateDir string
	// Materializer writes snapshots into run directories.
	Materializer Materializer
	// Logger receives diagnostics; nil discards them.
	Logger hclog.Logger
	// ShimPath is the executable started as "ShimPath shim --run-dir D" for
	// every run (the ferry-executor binary: os.Executable()); its "shim"
	// command must call Shim with the remaining arguments.
	ShimPath string
	// KillGrace is the time between SIGTERM and SIGKILL on cancel, timeout
	// and cleanup; zero means DefaultKillGrace.
	KillGrace time.Duration
	// SlurmCommand runs Slurm's commands for slurm runs; nil runs the real
	// ones (slurm.Exec).
	SlurmCommand slurm.CommandFunc
	// Recycler, when set, may take the working tree of a removed run for
	// later runs instead of letting it be deleted.
	Recycler Recycler
}

// Recycler takes the working tree of a removed run. The daemon's blob
// store implements it (spare trees).
type Recycler interface {
	// Recycle takes dir, the tree of snapshot snapshotID that no run uses
	// any more, and reports whether it did (dir is then gone).
	Recycle(snapshotID, dir string) bool
}

// Runner starts, supervises and serves runs. Its methods are safe for
// concurrent use.
type Runner struct {
	cfg     Config
	log     hclog.Logger
	runsDir string
	libDir  string
	files   *fileWatch

	// ctx is the runner's own lifecycle: Close cancels it, which stops every
	// goroutine the runner owns (shims and scripts go on).
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu     sync.Mutex
	closed bool
	runs   map[string]*runState
}

// runState is the in-memory state of one run; fields are guarded by
// Runner.mu.
type runState struct {
	rec   api.Run
	spec  api.RunSpec // immutable copy of rec.Spec, readable without the lock
	paths runPaths
	done  chan struct{} // closed once rec.Status is terminal

	cancelPrep      context.CancelFunc // non-nil while preparing
	cancelRequested bool
	shim            procIdentity // zero until the shim started
}

// Busy reports whether a run is not finished yet (the daemon stays up
// while one is, however long no client comes).
func (r *Runner) Busy() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, st := range r.runs {
		if !st.rec.Status.Terminal() {
			return true
		}
	}
	return false
}

// New opens the state directory, installs the Python helper and loads the
// records of earlier runs. Call Recover before serving to resume watching
// the runs that were still going.
func New(cfg Config) (*Runner, error) {
	if cfg.StateDir == "" || cfg.Materializer == nil || cfg.ShimPath == "" {
		return nil, errors.New("new runner: StateDir, Materializer and ShimPath are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.KillGrace <= 0 {
		cfg.KillGrace = DefaultKillGrace
	}
	// Absolute, because the shim and the script run elsewhere.
	stateDir, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("resolve state directory: %w", err)
	}
	r := &Runner{
		cfg:     cfg,
		log:     cfg.Logger.Named("runner"),
		runsDir: filepath.Join(stateDir, runsDirName),
		libDir:  filepath.Join(stateDir, filepath.FromSlash(pythonLibDir)),
		runs:    make(map[string]*runState),
	}
	if err := os.MkdirAll(r.runsDir, 0o700); err != nil {
		return nil, fmt.Errorf("create runs directory: %w", err)
	}
	if err := installHelper(r.libDir); err != nil {
		return nil, err
	}
	if err := r.load(); err != nil {
		return nil, err
	}
	files, err := newFileWatch(r.log)
	if err != nil {
		return nil, err
	}
	r.files = files
	r.ctx, r.stop = context.WithCancel(context.Background())
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		files.run(r.ctx)
	}()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.removeLeftovers()
	}()
	return r, nil
}

// Close stops the runner's goroutines and waits for them. Running shims and
// their scripts are not touched: a later Runner re-adopts them in Recover.
func (r *Runner) Close() error {
	r.mu.Lock()
	r.closed = true
	for _, st := range r.runs {
		if st.cancelPrep != nil {
			st.cancelPrep()
		}
	}
	r.mu.Unlock()
	r.stop()
	r.wg.Wait()
	return nil
}

// Get returns the record of run id.
func (r *Runner) Get(id string) (api.Run, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.runs[id]
	if !ok {
		return api.Run{}, fmt.Errorf("get run %s: %w", id, ErrRunNotFound)
	}
	return st.snapshot(), nil
}

// List returns every run, newest first.
func (r *Runner) List() []api.Run {
	r.mu.Lock()
	out := make([]api.Run, 0, len(r.runs))
	for _, st := range r.runs {
		out = append(out, st.snapshot())
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].Spec.ID > out[j].Spec.ID
	})
	return out
}

// Wait blocks until run id is terminal or ctx ends, and returns its record.
func (r *Runner) Wait(ctx context.Context, id string) (api.Run, error) {
	r.mu.Lock()
	st, ok := r.runs[id]
	r.mu.Unlock()
	if !ok {
		return api.Run{}, fmt.Errorf("wait for run %s: %w", id, ErrRunNotFound)
	}
	select {
	case <-st.done:
		return r.Get(id)
	case <-ctx.Done():
		return api.Run{}, ctx.Err()
	}
}

// snapshot returns a copy of the record with the current log size. Callers
// hold Runner.mu.
func (st *runState) snapshot() api.Run {
	rec := st.rec
	if fi, err := os.Stat(st.paths.log()); err == nil {
		rec.LogSize = fi.Size()
	}
	st.slurmView(&rec)
	return rec
}

// update applies change to the record of st and persists it; a terminal
// status closes st.done. It refuses once the runner is closed, so that a
// stopped runner never overwrites what its successor records.
func (r *Runner) update(st *runState, change func(rec *api.Run)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.updateLocked(st, change)
}

func (r *Runner) updateLocked(st *runState, change func(rec *api.Run)) error {
	if r.closed {
		return ErrClosed
	}
	if st.rec.Status.Terminal() {
		return nil
	}
	next := st.rec
	change(&next)
	if err := writeJSONAtomic(st.paths.run(), next); err != nil {
		return fmt.Errorf("persist run %s: %w", next.Spec.ID, err)
	}
	st.rec = next
	if next.Status.Terminal() {
		close(st.done)
	}
	return nil
}

// load reads every run record under the runs directory.
func (r *Runner) load() error {
	ents, err := os.ReadDir(r.runsDir)
	if err != nil {
		return fmt.Errorf("list runs: %w", err)
	}
	for _, e := range ents {
		if !e.IsDir() || validateRunID(e.Name()) != nil {
			continue
		}
		st := &runState{paths: runPaths(filepath.Join(r.runsDir, e.Name())), done: make(chan struct{})}
		if err := readJSON(st.paths.run(), &st.rec); err != nil {
			r.log.Warn("skipping unreadable run", "run_id", e.Name(), "error", err)
			continue
		}
		st.spec = st.rec.Spec
		if st.rec.Status.Terminal() {
			close(st.done)
		}
		r.runs[e.Name()] = st
	}
	return nil
}
