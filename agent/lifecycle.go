package agent

// The run lifecycle, shared by ferry run, ferry watch, ferry rerun and the
// portal:
//
//	Launch:  record (Queued) ──> connect ──> sync ──> submit ──> Started
//	            │                   │          │         │
//	            └───────────────────┴──────────┴─────────┴──> record Failed
//	                                                          (Canceled when stopped)
//	Follow:  stream the log from an offset; a lost link is made again and
//	         the stream resumes where it stopped; stop cancels the run
//	Finish:  record the final status and metrics, collect outputs/

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/agent/outputs"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/snapshot"
	"github.com/hashicorp/go-hclog"
)

// Runs is the executor's run API as the lifecycle uses it. Cancel may be
// called while Follow runs; the other calls are not concurrent.
type Runs interface {
	// Submit starts a run; its snapshot must have been synced.
	Submit(ctx context.Context, spec api.RunSpec) (api.Run, error)
	// Run returns the executor's record of a run.
	Run(ctx context.Context, id string) (api.Run, error)
	// Cancel asks the executor to stop a run.
	Cancel(ctx context.Context, id string) (api.Run, error)
	// Follow copies the run's log from offset to w until the run has
	// ended, and returns its final record; ErrConnLost (wrapped) when
	// the connection ended under it.
	Follow(ctx context.Context, id string, offset int64, w io.Writer) (api.Run, error)
}

// Link is the connection under a Remote.
type Link interface {
	// Name is the compute target's name.
	Name() string
	// Lost reports whether the connection has ended.
	Lost() bool
	// Reconnect makes a lost connection again; one attempt.
	Reconnect(ctx context.Context) error
	// Close releases the connection.
	Close() error
}

// Remote is a compute target's executor as the lifecycle uses it. *Conn
// is the real one; tests use fakes.
type Remote interface {
	Runs
	Link
	// Sync uploads what the target lacks of snapshot m of root.
	Sync(ctx context.Context, root string, m *snapshot.Manifest, progress Progress) (SyncResult, error)
	// FetchOutputs copies a run's outputs/ into store, up to maxBytes
	// (<= 0: no cap).
	FetchOutputs(ctx context.Context, id string, store *outputs.Store, maxBytes int64) (FetchedOutputs, error)
}

var _ Remote = (*Conn)(nil)

// History is the local run history as the lifecycle uses it;
// *history.Store is the real one.
type History interface {
	Put(ctx context.Context, r history.Record) error
	Get(ctx context.Context, id string) (history.Record, error)
	ApplyRun(ctx context.Context, run api.Run) error
	UpdateStatus(ctx context.Context, id string, status api.Status, exitCode *int, reason string, startedAt, endedAt *time.Time) error
	SetOutputs(ctx context.Context, id, dir string, files []api.OutputFile) error
	Delete(ctx context.Context, id string) error
}

var _ History = (*history.Store)(nil)

// Hooks carry what a front end shows of a run's lifecycle. Any may be nil.
// They are called on the goroutine that called the Runner's method,
// except Upload, which the upload's workers call (concurrently).
type Hooks struct {
	// Upload reports the snapshot upload's progress in bytes.
	Upload Progress
	// Synced reports the end of the snapshot's sync, failed or not.
	Synced func(res SyncResult, err error)
	// Reconnecting says the connection to compute was lost and is being
	// made again; Reconnected that it was.
	Reconnecting func(compute string)
	Reconnected  func(compute string)
	// OutputsSkipped reports outputs of run id left on the target because
	// they would pass MaxOutputSize.
	OutputsSkipped func(id string, got FetchedOutputs)
}

// Runner carries runs through their lifecycle. Its fields are set before
// first use and not changed after; one Runner may serve many runs at once
// when its Remote's calls may run concurrently (each *Conn: one run at a
// time; open one per run).
type Runner struct {
	History History
	// Outputs is the local store that collects runs' outputs/.
	Outputs *outputs.Store
	// MaxOutputSize caps the bytes of outputs/ brought back per run
	// (<= 0: no cap); see DefaultMaxOutputSize.
	MaxOutputSize int64
	// Manifests keeps each launched run's snapshot manifest, for reruns
	// (nil: not kept).
	Manifests *Manifests
	Hooks     Hooks
	Logger    hclog.Logger
	// ReconnectFor bounds how long a lost connection is tried again
	// before following gives up (the run goes on); 0: until ctx ends.
	ReconnectFor time.Duration
	// CancelWait bounds how long a run canceled through Follow's stop is
	// followed on to its end (default 30 s; the executor's SIGKILL comes
	// after 10 s).
	CancelWait time.Duration
	// CancelOnDone makes the end of Follow's ctx cancel the run, as stop
	// does (ferry watch); by default it only stops following (detach).
	CancelOnDone bool
	// RefreshTimeout bounds how long RefreshAll spends on one target
	// (default RefreshTimeout).
	RefreshTimeout time.Duration
}

// Dialer opens a connection to a compute target (ready to use), for the
// runs it refreshes.
type Dialer func(ctx context.Context, compute string) (Remote, error)

// ErrStopped is returned by Launch when stop closed before the run
// reached the target; the run is recorded Canceled.
var ErrStopped = errors.New("run stopped before it started")

func (r *Runner) logger() hclog.Logger {
	if r.Logger == nil {
		return hclog.NewNullLogger()
	}
	return r.Logger
}

func (r *Runner) cancelWait() time.Duration {
	if r.CancelWait <= 0 {
		return 30 * time.Second
	}
	return r.CancelWait
}
