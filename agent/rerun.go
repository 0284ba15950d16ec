package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/snapshot"
)

// ErrNotRerunnable is returned (wrapped) by RerunPlan for a run recorded
// without what a rerun needs (by a ferry before reruns existed).
var ErrNotRerunnable = errors.New("run was recorded without its environment spec")

// RerunOptions change a rerun from its original.
type RerunOptions struct {
	// Compute is the target to run on; "": the original's.
	Compute string
	// Args, when not nil, replace the original's arguments.
	Args []string
	// Now is the time the new run id is made from (zero: now).
	Now time.Time
}

// RerunPlan is the plan of a new run of rec's snapshot, environment spec,
// script and arguments (or opts.Args), linked to rec by RerunOf. Its git
// information is rec's. The caller sets Blobs (see BlobSources) unless
// the source is known unchanged.
func RerunPlan(rec history.Record, opts RerunOptions) (Plan, error) {
	spec := rec.EnvSpec
	if spec == nil {
		if rec.Environment.Kind != api.EnvUserManaged {
			return Plan{}, fmt.Errorf("rerun %s: %w", rec.ID, ErrNotRerunnable)
		}
		spec = &api.EnvironmentSpec{Kind: rec.Environment.Kind, Python: rec.Environment.Python}
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	p := Plan{
		ID: history.NewRunID(rec.Experiment, opts.Now), Compute: rec.Compute, Experiment: rec.Experiment,
		Source: rec.SourceDir, Script: rec.Script, Arguments: append([]string{}, rec.Args...),
		Environment: rec.Environment, Env: rec.Env, Spec: *spec, RerunOf: rec.ID, Git: rec.Git,
		MaxSeconds: rec.MaxSeconds,
	}
	if opts.Compute != "" {
		p.Compute = opts.Compute
	}
	if opts.Args != nil {
		p.Arguments = append([]string{}, opts.Args...)
	}
	if p.MaxSeconds > 0 {
		p.MaxDuration = (time.Duration(p.MaxSeconds) * time.Second).String()
	}
	return p, nil
}

// MissingFilesError names the files of a snapshot whose content no source
// could provide: changed or deleted locally, not in the local store, and
// not (or no longer) on the original target.
type MissingFilesError struct {
	Snapshot string
	Paths    []string
}

func (e *MissingFilesError) Error() string {
	const show = 10
	names := e.Paths
	more := ""
	if len(names) > show {
		names, more = names[:show], fmt.Sprintf(" and %d more", len(e.Paths)-show)
	}
	return fmt.Sprintf("content of %d file(s) of snapshot %.8s is nowhere to be found: %s%s",
		len(e.Paths), e.Snapshot, strings.Join(names, ", "), more)
}

// RerunManifest returns the manifest of rec's snapshot: kept here when the
// run was launched, or else fetched from the target that ran it (and kept
// from then on).
func (r *Runner) RerunManifest(ctx context.Context, dial Dialer, rec history.Record) (*snapshot.Manifest, error) {
	var m *snapshot.Manifest
	err := ErrNoManifest
	if r.Manifests != nil {
		m, err = r.Manifests.Get(rec.Snapshot)
	}
	if !errors.Is(err, ErrNoManifest) {
		return m, err
	}
	remote, err := dial(ctx, rec.Compute)
	if err != nil {
		return nil, fmt.Errorf("snapshot of %s not kept here; ask %s: %w", rec.ID, rec.Compute, err)
	}
	defer remote.Close()
	src, ok := remote.(interface {
		Manifest(ctx context.Context, id string) (*snapshot.Manifest, error)
	})
	if !ok {
		return nil, fmt.Errorf("snapshot of %s: %w", rec.ID, ErrNoManifest)
	}
	if m, err = src.Manifest(ctx, rec.Snapshot); err != nil {
		return nil, fmt.Errorf("snapshot of %s not kept here: %w", rec.ID, err)
	}
	if r.Manifests != nil {
		if err := r.Manifests.Put(m); err != nil {
			r.logger().Warn("cannot keep the snapshot's manifest", "error", err)
		}
	}
	return m, nil
}

// RerunBlobs says where a rerun of rec on compute finds its snapshot's
// content: rec's source files, the local store, and rec's target (through
// dial) when compute is another.
func (r *Runner) RerunBlobs(rec history.Record, compute string, dial Dialer) *BlobSources {
	b := &BlobSources{Source: rec.SourceDir, Store: r.Outputs, Logger: r.logger()}
	if compute != rec.Compute {
		b.Origin = func(ctx context.Context) (BlobReader, error) {
			remote, err := dial(ctx, rec.Compute)
			if err != nil {
				return nil, err
			}
			br, ok := remote.(BlobReader)
			if !ok {
				remote.Close()
				return nil, fmt.Errorf("%s cannot serve blobs", rec.Compute)
			}
			return br, nil
		}
	}
	return b
}

// StartRerun launches a rerun of rec (RerunPlan, RerunManifest,
// RerunBlobs, Launch) and returns once it started on the target; a
// goroutine then follows it to its end (its log is not copied: viewers
// follow it with Follow), records it with Finish, closes the connection
// and sends the result on the returned channel (buffered; closed after,
// or closed without a value when following failed). ctx bounds the launch
// and that goroutine: give it the front end's lifetime, not a request's.
func (r *Runner) StartRerun(ctx context.Context, dial Dialer, rec history.Record, opts RerunOptions) (Plan, <-chan Finished, error) {
	plan, err := RerunPlan(rec, opts)
	if err != nil {
		return plan, nil, err
	}
	m, err := r.RerunManifest(ctx, dial, rec)
	if err != nil {
		return plan, nil, err
	}
	plan.Blobs = r.RerunBlobs(rec, plan.Compute, dial)
	connect := func(ctx context.Context) (Remote, error) { return dial(ctx, plan.Compute) }
	remote, _, err := r.Launch(ctx, connect, plan, m, nil)
	if err != nil {
		if remote != nil {
			remote.Close()
		}
		return plan, nil, err
	}
	done := make(chan Finished, 1)
	go r.finishInBackground(ctx, remote, plan.ID, done)
	return plan, done, nil
}

// finishInBackground follows a launched run to its end and finishes it.
func (r *Runner) finishInBackground(ctx context.Context, remote Remote, id string, done chan<- Finished) {
	defer close(done)
	defer remote.Close()
	run, err := r.Follow(ctx, remote, id, 0, io.Discard, nil)
	if err != nil {
		r.logger().Warn("stopped following run", "run_id", id, "error", err)
		return
	}
	done <- r.Finish(context.WithoutCancel(ctx), remote, run)
}
