package agent

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/agent/outputs"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/client"
	"github.com/ferry-ml/ferry/snapshot"
	"github.com/hashicorp/go-hclog"
)

// lifecycle is a Runner over a real history and output store in a
// temporary directory, with a snapshot of a one-file source.
type lifecycle struct {
	runner *Runner
	hist   *history.Store
	plan   Plan
	m      *snapshot.Manifest
	events []string // hooks called, in order
	mu     sync.Mutex
}

func newLifecycle(t *testing.T) *lifecycle {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "train.py"), []byte("print('hi')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, _, err := snapshot.Take(t.Context(), src, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logger := hclog.New(&hclog.LoggerOptions{Output: t.Output(), Level: hclog.Debug})
	hist, err := history.Open(filepath.Join(dir, "history.db"), logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hist.Close() })
	store, err := outputs.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	l := &lifecycle{hist: hist, m: m}
	l.runner = &Runner{History: hist, Outputs: store, Logger: logger, Hooks: Hooks{
		Synced:       func(SyncResult, error) { l.event("synced") },
		Reconnecting: func(name string) { l.event("reconnecting " + name) },
		Reconnected:  func(name string) { l.event("reconnected " + name) },
	}}
	l.plan = Plan{ID: history.NewRunID("exp", time.Now()), Compute: "fake", Experiment: "exp", Source: src,
		Script: "train.py", Arguments: []string{"--lr", "0.1"},
		Environment: history.Environment{Kind: api.EnvUserManaged, Python: "python3"}}
	return l
}

func (l *lifecycle) event(e string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *lifecycle) connectTo(f *fakeRemote) func(context.Context) (Remote, error) {
	return func(context.Context) (Remote, error) { return f, nil }
}

func (l *lifecycle) record(t *testing.T) history.Record {
	t.Helper()
	rec, err := l.hist.Get(context.Background(), l.plan.ID)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func ended(status api.Status, code int) api.Run {
	now := time.Now().UTC()
	return api.Run{Status: status, ExitCode: &code, StartedAt: &now, EndedAt: &now, LogSize: 0}
}

// launch launches l's plan on f and checks that it started.
func (l *lifecycle) launch(t *testing.T, f *fakeRemote) {
	t.Helper()
	_, run, err := l.runner.Launch(t.Context(), l.connectTo(f), l.plan, l.m, nil)
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	if run.Status != api.StatusRunning || l.record(t).Status != api.StatusRunning {
		t.Fatalf("after Launch: run %s, record %s; want Running", run.Status, l.record(t).Status)
	}
}

// TestLifecycleCompletes: launch, follow, finish: the spec is the plan's,
// the log arrives whole, the record ends Completed with its outputs and
// its metrics kept in the history.
func TestLifecycleCompletes(t *testing.T) {
	l := newLifecycle(t)
	f := newFake("epoch 1\nepoch 2\n", ended(api.StatusCompleted, 0))
	f.files = []api.OutputFile{{Path: "model.lnk", Link: "model.bin"}}
	f.metrics = `{"name":"loss","kind":"scalar","value":0.5}` + "\n" + `{"name":"loss","kind":"scalar","value":0.25}` + "\n"
	l.launch(t, f)
	spec := f.submitted[0]
	if spec.ID != l.plan.ID || spec.Snapshot != l.m.ID().String() || spec.Script != "train.py" ||
		strings.Join(spec.Args, " ") != "--lr 0.1" || spec.Environment.Python != "python3" {
		t.Fatalf("submitted %+v, want the plan's run", spec)
	}
	var out bytes.Buffer
	run, err := l.runner.Follow(t.Context(), f, l.plan.ID, 0, &out, nil)
	if err != nil || out.String() != "epoch 1\nepoch 2\n" {
		t.Fatalf("Follow: %q, %v", out.String(), err)
	}
	fin := l.runner.Finish(t.Context(), f, run)
	if fin.OutputsErr != nil || fin.Outputs != 1 {
		t.Fatalf("Finish: %d outputs, %v; want 1", fin.Outputs, fin.OutputsErr)
	}
	rec := l.record(t)
	if rec.Status != api.StatusCompleted || rec.ExitCode == nil || *rec.ExitCode != 0 || len(rec.Outputs) != 1 || rec.Snapshot != l.m.ID().String() {
		t.Fatalf("record %+v, want Completed, exit 0, one output", rec)
	}
	if rec.EnvSpec == nil || rec.EnvSpec.Python != "python3" || strings.Join(rec.Args, " ") != "--lr 0.1" {
		t.Fatalf("record keeps env spec %+v, args %v; want what a rerun needs", rec.EnvSpec, rec.Args)
	}
	var values []float64
	l.hist.EachMetric(t.Context(), l.plan.ID, func(m api.Metric) error { values = append(values, m.Value); return nil })
	if len(values) != 2 || values[1] != 0.25 {
		t.Fatalf("kept metrics %v, want the run's two", values)
	}
}

// TestLifecycleScriptFails: the script's exit code is recorded and
// returned.
func TestLifecycleScriptFails(t *testing.T) {
	l := newLifecycle(t)
	f := newFake("Traceback\n", ended(api.StatusFailed, 3))
	l.launch(t, f)
	run, err := l.runner.Follow(t.Context(), f, l.plan.ID, 0, &bytes.Buffer{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.runner.Finish(t.Context(), f, run)
	rec := l.record(t)
	if run.Status != api.StatusFailed || *run.ExitCode != 3 || rec.Status != api.StatusFailed || rec.ExitCode == nil || *rec.ExitCode != 3 {
		t.Fatalf("run %s, record %s exit %v; want Failed with exit code 3", run.Status, rec.Status, rec.ExitCode)
	}
}

// TestFollowResumesAfterDrops: the connection drops twice mid-follow, and
// the first reconnect is refused; the log resumes at the exact offset each
// time, no byte lost or doubled.
func TestFollowResumesAfterDrops(t *testing.T) {
	l := newLifecycle(t)
	log := "line 0001\nline 0002\nline 0003\nline 0004\n"
	f := newFake(log, ended(api.StatusCompleted, 0))
	f.dropAt = []int64{7, 23}
	l.launch(t, f)
	f.refuse = 1
	var out bytes.Buffer
	run, err := l.runner.Follow(t.Context(), f, l.plan.ID, 0, &out, nil)
	if err != nil || run.Status != api.StatusCompleted {
		t.Fatalf("Follow: %s, %v", run.Status, err)
	}
	if out.String() != log {
		t.Fatalf("log %q, want %q", out.String(), log)
	}
	if got := f.offsets; len(got) != 3 || got[0] != 0 || got[1] != 7 || got[2] != 23 {
		t.Fatalf("Follow offsets %v, want [0 7 23]", got)
	}
	if f.reconnects != 3 {
		t.Errorf("%d reconnect attempts, want 3 (one refused)", f.reconnects)
	}
	want := "synced,reconnecting fake,reconnected fake,reconnecting fake,reconnected fake"
	if got := strings.Join(l.events, ","); got != want {
		t.Errorf("hooks %s, want %s", got, want)
	}
}

// TestFollowFromOffset: a viewer that joins late (a portal page, ferry
// logs -f after a reload) gets the log from its offset on.
func TestFollowFromOffset(t *testing.T) {
	l := newLifecycle(t)
	f := newFake("0123456789", ended(api.StatusCompleted, 0))
	f.dropAt = []int64{6}
	l.launch(t, f)
	var out bytes.Buffer
	if _, err := l.runner.Follow(t.Context(), f, l.plan.ID, 4, &out, nil); err != nil || out.String() != "456789" {
		t.Fatalf("Follow from 4: %q, %v; want 456789", out.String(), err)
	}
}

// TestFollowGivesUp: a link that cannot be made again within
// ReconnectFor ends the follow with a ReconnectError; the run is not
// canceled.
func TestFollowGivesUp(t *testing.T) {
	l := newLifecycle(t)
	f := newFake("abcdef", ended(api.StatusCompleted, 0))
	f.dropAt = []int64{3}
	l.launch(t, f)
	f.refuse = 1000
	l.runner.ReconnectFor = time.Millisecond
	var out bytes.Buffer
	_, err := l.runner.Follow(t.Context(), f, l.plan.ID, 0, &out, nil)
	var re *ReconnectError
	if !errors.As(err, &re) || re.GaveUp != time.Millisecond || out.String() != "abc" {
		t.Fatalf("Follow: %q, %v; want abc and a ReconnectError that gave up", out.String(), err)
	}
	select {
	case <-f.canceled:
		t.Fatal("a lost link canceled the run")
	default:
	}
}

// TestFollowStopCancels: closing stop cancels the run on the target and
// follows it to its end.
func TestFollowStopCancels(t *testing.T) {
	l := newLifecycle(t)
	f := newFake("working\n", ended(api.StatusCompleted, 0))
	f.hold = true
	l.launch(t, f)
	stop := make(chan struct{})
	time.AfterFunc(50*time.Millisecond, func() { close(stop) })
	var out bytes.Buffer
	run, err := l.runner.Follow(t.Context(), f, l.plan.ID, 0, &out, stop)
	if err != nil || run.Status != api.StatusCanceled || out.String() != "working\n" {
		t.Fatalf("Follow: %s %q, %v; want Canceled after the whole log", run.Status, out.String(), err)
	}
}

// TestFollowDetaches: by default the end of ctx stops following only; the
// run goes on. With CancelOnDone (ferry watch) it cancels the run.
func TestFollowDetaches(t *testing.T) {
	for _, cancelOnDone := range []bool{false, true} {
		l := newLifecycle(t)
		l.runner.CancelOnDone = cancelOnDone
		f := newFake("working\n", ended(api.StatusCompleted, 0))
		f.hold = true
		l.launch(t, f)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		run, err := l.runner.Follow(ctx, f, l.plan.ID, 0, &bytes.Buffer{}, nil)
		canceled := false
		select {
		case <-f.canceled:
			canceled = true
		default:
		}
		switch {
		case !cancelOnDone && (!errors.Is(err, context.Canceled) || canceled):
			t.Fatalf("detach: %v, run canceled %v; want context.Canceled and the run going on", err, canceled)
		case cancelOnDone && (err != nil || run.Status != api.StatusCanceled || !canceled):
			t.Fatalf("CancelOnDone: %s, %v; want the run Canceled", run.Status, err)
		}
	}
}

// TestLaunchSyncFails: a sync error records the run Failed with the cause.
func TestLaunchSyncFails(t *testing.T) {
	l := newLifecycle(t)
	f := newFake("", ended(api.StatusCompleted, 0))
	f.syncErr = errors.New("disk full")
	_, _, err := l.runner.Launch(t.Context(), l.connectTo(f), l.plan, l.m, nil)
	rec := l.record(t)
	if err == nil || rec.Status != api.StatusFailed || !strings.Contains(rec.Reason, "disk full") || len(f.submitted) != 0 {
		t.Fatalf("Launch: %v; record %s %q; want Failed: disk full, nothing submitted", err, rec.Status, rec.Reason)
	}
}

// TestLaunchRefusedLeavesNoRecord: the executor's refusal of the spec
// (400: Slurm would not take the job) is a *RefusedError with the target's
// words, and the run is gone from the history; any other submit error
// still records the run Failed.
func TestLaunchRefusedLeavesNoRecord(t *testing.T) {
	l := newLifecycle(t)
	f := newFake("", ended(api.StatusCompleted, 0))
	msg := "invalid run spec: sbatch: error: Batch job submission failed: Invalid partition name specified"
	f.submitErr = &client.APIError{Status: http.StatusBadRequest, Code: "bad_request", Message: msg}
	_, _, err := l.runner.Launch(t.Context(), l.connectTo(f), l.plan, l.m, nil)
	var refused *RefusedError
	if !errors.As(err, &refused) || refused.Reason != msg || refused.Compute != "fake" {
		t.Fatalf("Launch: %v; want a RefusedError with the executor's message", err)
	}
	if _, err := l.hist.Get(t.Context(), l.plan.ID); !errors.Is(err, history.ErrNotFound) {
		t.Fatalf("refused run still in the history: %v", err)
	}

	l2 := newLifecycle(t)
	f.submitErr = &client.APIError{Status: http.StatusInternalServerError, Code: "internal", Message: "disk full"}
	_, _, err = l2.runner.Launch(t.Context(), l2.connectTo(f), l2.plan, l2.m, nil)
	if rec := l2.record(t); errors.As(err, &refused) || rec.Status != api.StatusFailed {
		t.Fatalf("Launch: %v, record %s; want an internal error recorded Failed", err, rec.Status)
	}
}

// TestLaunchResubmitsAfterDrop: the link drops during the sync; it is made
// again and the run submitted once.
func TestLaunchResubmitsAfterDrop(t *testing.T) {
	l := newLifecycle(t)
	f := newFake("ok\n", ended(api.StatusCompleted, 0))
	f.syncErr, f.loseOnSync = errors.New("broken pipe"), true
	l.launch(t, f)
	if f.syncs != 2 || len(f.submitted) != 1 || f.reconnects != 1 {
		t.Fatalf("%d syncs, %d submits, %d reconnects; want 2, 1, 1", f.syncs, len(f.submitted), f.reconnects)
	}
}

// TestLaunchStopped: stop before the connection is ready records the run
// Canceled and returns ErrStopped; nothing reaches the target.
func TestLaunchStopped(t *testing.T) {
	l := newLifecycle(t)
	f := newFake("", ended(api.StatusCompleted, 0))
	stop := make(chan struct{})
	close(stop)
	slow := func(ctx context.Context) (Remote, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	_, _, err := l.runner.Launch(t.Context(), slow, l.plan, l.m, stop)
	if !errors.Is(err, ErrStopped) || l.record(t).Status != api.StatusCanceled || len(f.submitted) != 0 {
		t.Fatalf("Launch: %v, record %s; want ErrStopped and Canceled", err, l.record(t).Status)
	}
}

// TestRefreshUnfinished: a run left Running in the history (its ferry
// went away) is brought up to date, outputs included.
func TestRefreshUnfinished(t *testing.T) {
	l := newLifecycle(t)
	f := newFake("done\n", ended(api.StatusCompleted, 0))
	f.files = []api.OutputFile{{Path: "a.lnk", Link: "a"}}
	l.launch(t, f)
	recs := []history.Record{l.record(t)}
	dial := func(context.Context, string) (Remote, error) { return f, nil }
	l.runner.RefreshAll(t.Context(), dial, recs, func(string, int, error) { t.Error("target unreachable") })
	if recs[0].Status != api.StatusCompleted || len(recs[0].Outputs) != 1 || l.record(t).Status != api.StatusCompleted {
		t.Fatalf("after refresh: %s with %d outputs; want Completed with 1", recs[0].Status, len(recs[0].Outputs))
	}
}

// TestRefreshKeepsMissingMetrics: a run recorded as ended without its
// metrics (by ferry cancel, say) gets them at the next refresh, and a
// run with metrics kept is not fetched again.
func TestRefreshKeepsMissingMetrics(t *testing.T) {
	l := newLifecycle(t)
	f := newFake("done\n", ended(api.StatusCompleted, 0))
	f.metrics = `{"name":"acc","kind":"scalar","value":0.75}` + "\n"
	l.launch(t, f)
	if err := l.hist.ApplyRun(t.Context(), api.Run{Spec: api.RunSpec{ID: l.plan.ID}, Status: api.StatusCompleted}); err != nil {
		t.Fatal(err)
	}
	if l.hist.HasMetrics(l.plan.ID) {
		t.Fatal("metrics kept before the refresh")
	}
	if _, err := l.runner.Refresh(t.Context(), f, l.record(t)); err != nil {
		t.Fatal(err)
	}
	var names []string
	l.hist.EachMetric(t.Context(), l.plan.ID, func(m api.Metric) error { names = append(names, m.Name); return nil })
	if strings.Join(names, ",") != "acc" {
		t.Fatalf("metrics after refresh %v, want acc", names)
	}
	f.metrics = "" // a second refresh must not replace them
	l.runner.Refresh(t.Context(), f, l.record(t))
	names = nil
	l.hist.EachMetric(t.Context(), l.plan.ID, func(m api.Metric) error { names = append(names, m.Name); return nil })
	if len(names) != 1 {
		t.Fatalf("metrics after a second refresh %v, want them kept", names)
	}
}

// TestRefreshUnreachable: a target that cannot be reached keeps its
// records as they were and is reported.
func TestRefreshUnreachable(t *testing.T) {
	l := newLifecycle(t)
	l.launch(t, newFake("", ended(api.StatusCompleted, 0)))
	recs := []history.Record{l.record(t)}
	dial := func(context.Context, string) (Remote, error) { return nil, errors.New("no route to host") }
	var got []string
	l.runner.RefreshAll(t.Context(), dial, recs, func(name string, n int, err error) {
		got = append(got, name, err.Error())
	})
	if recs[0].Status != api.StatusRunning || strings.Join(got, ",") != "fake,no route to host" {
		t.Fatalf("after refresh: %s, reported %v", recs[0].Status, got)
	}
}
