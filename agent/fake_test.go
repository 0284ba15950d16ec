package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ferry-ml/ferry/agent/outputs"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/snapshot"
)

// fakeRemote is an in-memory executor with one run whose log is fixed in
// advance. It can drop the connection at chosen log offsets, hold the run
// open until canceled, and fail syncs.
type fakeRemote struct {
	mu sync.Mutex

	log        []byte  // the whole log of the run
	final      api.Run // the run's record once it ended
	dropAt     []int64 // offsets at which Follow loses the connection, once each
	hold       bool    // the run goes on (Follow blocks after the log) until Cancel
	syncErr    error   // returned (once) by Sync; loseOnSync also drops the link
	loseOnSync bool
	refuse     int   // Reconnect attempts to refuse before one works
	submitErr  error // returned by Submit
	files      []api.OutputFile
	metrics    string // the run's kept metrics, JSON lines

	lost       bool
	submitted  []api.RunSpec
	offsets    []int64 // offsets Follow was called with
	reconnects int
	canceled   chan struct{}
	syncs      int
}

var _ Remote = (*fakeRemote)(nil)

func newFake(log string, final api.Run) *fakeRemote {
	return &fakeRemote{log: []byte(log), final: final, canceled: make(chan struct{})}
}

func (f *fakeRemote) Name() string { return "fake" }

func (f *fakeRemote) Lost() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lost
}

func (f *fakeRemote) Reconnect(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reconnects++
	if f.refuse > 0 {
		f.refuse--
		return errors.New("connection refused")
	}
	f.lost = false
	return nil
}

func (f *fakeRemote) Close() error { return nil }

func (f *fakeRemote) Sync(_ context.Context, _ string, m *snapshot.Manifest, progress Progress) (SyncResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lost {
		return SyncResult{}, errors.New("sync: connection lost")
	}
	f.syncs++
	if err := f.syncErr; err != nil {
		f.syncErr = nil
		f.lost = f.loseOnSync
		return SyncResult{}, err
	}
	if progress != nil {
		progress(m.Bytes(), m.Bytes())
	}
	return SyncResult{Snapshot: m.ID().String(), Files: m.Files(), Bytes: m.Bytes(), UploadedFiles: m.Files()}, nil
}

func (f *fakeRemote) Submit(_ context.Context, spec api.RunSpec) (api.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lost {
		return api.Run{}, errors.New("submit: connection lost")
	}
	if f.submitErr != nil {
		return api.Run{}, f.submitErr
	}
	f.submitted = append(f.submitted, spec)
	now := time.Now().UTC()
	f.final.Spec = spec
	return api.Run{Spec: spec, Status: api.StatusRunning, CreatedAt: now, StartedAt: &now}, nil
}

func (f *fakeRemote) Run(_ context.Context, id string) (api.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.submitted) == 0 || f.final.Spec.ID != id {
		return api.Run{}, fmt.Errorf("run %s: not found", id)
	}
	return f.final, nil
}

func (f *fakeRemote) Cancel(_ context.Context, id string) (api.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.canceled:
	default:
		close(f.canceled)
		code := 143
		f.final.Status, f.final.ExitCode, f.final.Reason = api.StatusCanceled, &code, "canceled"
	}
	return f.final, nil
}

// Follow writes the log from offset, losing the connection at the next
// drop point; with hold, it then waits for Cancel (or ctx).
func (f *fakeRemote) Follow(ctx context.Context, id string, offset int64, w io.Writer) (api.Run, error) {
	f.mu.Lock()
	f.offsets = append(f.offsets, offset)
	if f.lost {
		f.mu.Unlock()
		return api.Run{}, fmt.Errorf("follow: %w", ErrConnLost)
	}
	end, drop := int64(len(f.log)), false
	for i, d := range f.dropAt {
		if d > offset && d < end {
			end, drop = d, true
			f.dropAt = append(f.dropAt[:i:i], f.dropAt[i+1:]...)
			break
		}
	}
	chunk := f.log[offset:end]
	f.lost = drop
	f.mu.Unlock()
	if _, err := w.Write(chunk); err != nil {
		return api.Run{}, err
	}
	if drop {
		return api.Run{}, fmt.Errorf("follow: %w", ErrConnLost)
	}
	if f.hold {
		select {
		case <-f.canceled:
		case <-ctx.Done():
			return api.Run{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.final, nil
}

func (f *fakeRemote) FetchOutputs(_ context.Context, _ string, store *outputs.Store, _ int64) (FetchedOutputs, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lost {
		return FetchedOutputs{}, errors.New("outputs: connection lost")
	}
	return FetchedOutputs{Files: f.files}, nil
}

// ReadMetrics writes the run's kept metrics.
func (f *fakeRemote) ReadMetrics(_ context.Context, _ string, w io.Writer) error {
	_, err := io.WriteString(w, f.metrics)
	return err
}
