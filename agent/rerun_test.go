package agent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/snapshot"
)

// stagingRemote records the tree Sync was asked to upload from.
type stagingRemote struct {
	*fakeRemote
	staged map[string]string // path -> content, read at Sync time
}

func (s *stagingRemote) Sync(ctx context.Context, root string, m *snapshot.Manifest, p Progress) (SyncResult, error) {
	s.staged = map[string]string{}
	for _, e := range m.Entries {
		if b, err := os.ReadFile(filepath.Join(root, e.Path)); err == nil {
			s.staged[e.Path] = string(b)
		}
	}
	return s.fakeRemote.Sync(ctx, root, m, p)
}

// originBlobs is an original target holding some blobs.
type originBlobs map[string]string

func (o originBlobs) Blob(_ context.Context, id string) (io.ReadCloser, error) {
	b, ok := o[id]
	if !ok {
		return nil, errors.New("not found")
	}
	return io.NopCloser(strings.NewReader(b)), nil
}

func (originBlobs) Close() error { return nil }

func blobOf(t *testing.T, m *snapshot.Manifest, path string) string {
	t.Helper()
	for _, e := range m.Entries {
		if e.Path == path {
			return e.Blob.String()
		}
	}
	t.Fatalf("no %s in the manifest", path)
	return ""
}

// TestRerunStagesFromEachSource: after the source changed, a rerun's
// upload holds the old content of every file: unchanged files from the
// source, one from the local store, one from the original target (then
// kept in the store), and copies at every path of one blob.
func TestRerunStagesFromEachSource(t *testing.T) {
	l := newLifecycle(t)
	src := l.plan.Source
	files := map[string]string{"train.py": "print('hi')\n", "a.txt": "from the store\n", "b.txt": "from the origin\n", "c/b2.txt": "from the origin\n", "keep.txt": "same\n"}
	for p, c := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(src, p)), 0o755)
		os.WriteFile(filepath.Join(src, p), []byte(c), 0o644)
	}
	m, _, err := snapshot.Take(t.Context(), src, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.runner.Outputs.Put(blobOf(t, m, "a.txt"), strings.NewReader(files["a.txt"])); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"train.py", "a.txt", "b.txt", "c/b2.txt"} {
		os.WriteFile(filepath.Join(src, p), []byte("changed\n"), 0o644)
	}
	origin := originBlobs{blobOf(t, m, "b.txt"): files["b.txt"], blobOf(t, m, "train.py"): files["train.py"]}
	f := &stagingRemote{fakeRemote: newFake("", ended(api.StatusCompleted, 0))}
	l.plan.Blobs = &BlobSources{Source: src, Store: l.runner.Outputs,
		Origin: func(context.Context) (BlobReader, error) { return origin, nil }}
	if _, _, err := l.runner.Launch(t.Context(), func(context.Context) (Remote, error) { return f, nil }, l.plan, m, nil); err != nil {
		t.Fatal(err)
	}
	for p, c := range files {
		if f.staged[p] != c {
			t.Errorf("staged %s = %q, want %q", p, f.staged[p], c)
		}
	}
	if !l.runner.Outputs.Has(blobOf(t, m, "b.txt")) {
		t.Error("a blob fetched from the original target was not kept in the local store")
	}
}

// TestRerunNamesMissingFiles: content found nowhere fails the launch with
// the files named, and the run is recorded Failed.
func TestRerunNamesMissingFiles(t *testing.T) {
	l := newLifecycle(t)
	os.WriteFile(filepath.Join(l.plan.Source, "z.txt"), []byte("z\n"), 0o644)
	m, _, err := snapshot.Take(t.Context(), l.plan.Source, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(l.plan.Source, "train.py"), []byte("changed\n"), 0o644)
	l.plan.Blobs = &BlobSources{Source: l.plan.Source, Store: l.runner.Outputs}
	f := newFake("", ended(api.StatusCompleted, 0))
	_, _, err = l.runner.Launch(t.Context(), l.connectTo(f), l.plan, m, nil)
	var mf *MissingFilesError
	if !errors.As(err, &mf) || strings.Join(mf.Paths, ",") != "train.py" || l.record(t).Status != api.StatusFailed {
		t.Fatalf("Launch: %v; want a MissingFilesError naming train.py only", err)
	}
}

// TestRerunPlan: same snapshot, environment spec and arguments unless
// replaced, on the same target unless another is named, linked to the
// original.
func TestRerunPlan(t *testing.T) {
	spec := &api.EnvironmentSpec{Kind: api.EnvConda, CondaSpec: []byte("dependencies: [python=3.11]\n"), Key: "k1"}
	rec := history.Record{ID: "exp_1", Experiment: "exp", Compute: "box", Script: "train.py", Args: []string{"--lr", "1"},
		Snapshot: "s", Environment: history.Environment{Kind: api.EnvConda, Key: "k1"}, EnvSpec: spec, MaxSeconds: 60, SourceDir: "/src"}
	tests := []struct {
		name    string
		opts    RerunOptions
		compute string
		args    string
	}{
		{"as it was", RerunOptions{}, "box", "--lr 1"},
		{"elsewhere, new args", RerunOptions{Compute: "local", Args: []string{"--lr", "2"}}, "local", "--lr 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := RerunPlan(rec, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			rs := p.RunSpec("s")
			if p.Compute != tt.compute || strings.Join(rs.Args, " ") != tt.args || p.RerunOf != "exp_1" || p.ID == rec.ID ||
				!bytes.Equal(rs.Environment.CondaSpec, spec.CondaSpec) || rs.MaxDuration.Seconds() != 60 {
				t.Fatalf("plan %+v, spec %+v", p, rs)
			}
		})
	}
	rec.EnvSpec = nil
	if _, err := RerunPlan(rec, RerunOptions{}); !errors.Is(err, ErrNotRerunnable) {
		t.Fatalf("a conda run without its spec: %v, want ErrNotRerunnable", err)
	}
}

// TestManifestsRoundTrip: a kept manifest comes back identical; an
// unknown one is ErrNoManifest.
func TestManifestsRoundTrip(t *testing.T) {
	l := newLifecycle(t)
	ms, err := OpenManifests(filepath.Join(t.TempDir(), "manifests"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ms.Put(l.m); err != nil {
		t.Fatal(err)
	}
	got, err := ms.Get(l.m.ID().String())
	if err != nil || got.ID() != l.m.ID() {
		t.Fatalf("Get: %v", err)
	}
	if _, err := ms.Get(strings.Repeat("0", 64)); !errors.Is(err, ErrNoManifest) {
		t.Fatalf("Get of an unknown snapshot: %v, want ErrNoManifest", err)
	}
}
