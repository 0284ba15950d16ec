package history

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/agent/gitinfo"
	"github.com/ferry-ml/ferry/executor/api"
)

func ptr[T any](v T) *T { return &v }

// testRecord returns a queued run created at created.
func testRecord(id string, created time.Time) Record {
	return Record{
		ID: id, Experiment: "exp", Compute: "gpu1", Status: api.StatusQueued,
		Script: "train.py", Args: []string{"--lr", "0.1"}, Snapshot: "ab12",
		Environment: Environment{Kind: "user-managed", Python: "python3"},
		CreatedAt:   created.UTC(),
	}
}

func apiRun(id string) api.Run {
	return api.Run{Spec: api.RunSpec{ID: id}, Status: api.StatusCompleted, ExitCode: ptr(0),
		StartedAt: ptr(time.Unix(5, 0)), EndedAt: ptr(time.Unix(9, 0))}
}

// fullRecord sets every field.
func fullRecord() Record {
	created := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	return Record{
		ID: "exp_1772366400_ab12cd", Experiment: "exp", Compute: "gpu1",
		Status: api.StatusFailed, ExitCode: ptr(3), Reason: "exit status 3",
		Script: "train.py", Args: []string{"--epochs", "3", ""}, Snapshot: "deadbeef",
		Environment: Environment{Kind: "conda", Key: "k1", File: "environment.yml"},
		Env:         map[string]string{"HF_TOKEN": "hf_secret", "SEED": "1"},
		Git:         &gitinfo.Info{Repository: "https://github.com/o/r", Branch: "main", Commit: "c0ffee", Dirty: true, Root: "/src"},
		CreatedAt:   created,
		StartedAt:   ptr(created.Add(time.Second)),
		EndedAt:     ptr(created.Add(time.Minute)),
		SourceDir:   "/src/proj", OutputsDir: "/home/u/.ferry/runs/x/outputs",
		Outputs: []api.OutputFile{{Path: "model.pt", Mode: 0o644, Size: 3, Hash: "aa"}},
	}
}

func TestPutGetRoundTrip(t *testing.T) {
	s, _ := openTest(t)
	want := fullRecord()
	if err := s.Put(t.Context(), want); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := s.Get(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Get =\n%+v\nwant\n%+v", got, want)
	}
}

func TestPutReplaces(t *testing.T) {
	s, _ := openTest(t)
	r := fullRecord()
	if err := s.Put(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	r.Status, r.Git, r.Env = api.StatusCompleted, nil, nil
	if err := s.Put(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != api.StatusCompleted || got.Git != nil || got.Env != nil {
		t.Fatalf("after replacing Put, Get = %+v", got)
	}
}

func TestPutRequiresIDAndCreated(t *testing.T) {
	s, _ := openTest(t)
	for _, r := range []Record{{ID: "x"}, {CreatedAt: time.Now()}} {
		if err := s.Put(t.Context(), r); err == nil {
			t.Errorf("Put(%+v) = nil, want an error", r)
		}
	}
}

func TestGet(t *testing.T) {
	s, _ := openTest(t)
	ids := []string{"exp_100_aaaaaa", "exp_100_aaaabb", "exp_200_cccccc", "other_1_dddddd", "exp"}
	var recs []Record
	for i, id := range ids {
		recs = append(recs, testRecord(id, time.Unix(int64(i+1), 0)))
	}
	if err := s.PutAll(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		query     string
		want      string
		notFound  bool
		ambiguous []string
	}{
		{name: "exact", query: "exp_200_cccccc", want: "exp_200_cccccc"},
		{name: "exact id that is also a prefix", query: "exp", want: "exp"},
		{name: "unique prefix", query: "exp_2", want: "exp_200_cccccc"},
		{name: "unique prefix of 4", query: "othe", want: "other_1_dddddd"},
		{name: "ambiguous", query: "exp_100_aaaa", ambiguous: []string{"exp_100_aaaaaa", "exp_100_aaaabb"}},
		{name: "ambiguous broad", query: "exp_", ambiguous: []string{"exp_100_aaaaaa", "exp_100_aaaabb", "exp_200_cccccc"}},
		{name: "prefix too short", query: "oth", notFound: true},
		{name: "no match", query: "zzzzz", notFound: true},
		{name: "no match between ids", query: "exp_150", notFound: true},
		{name: "empty", query: "", notFound: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Get(t.Context(), tt.query)
			var amb *AmbiguousError
			switch {
			case tt.notFound:
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get(%q) = %v, %v; want ErrNotFound", tt.query, got.ID, err)
				}
			case tt.ambiguous != nil:
				if !errors.As(err, &amb) || !slices.Equal(amb.Matches, tt.ambiguous) || amb.Prefix != tt.query {
					t.Fatalf("Get(%q) = %v, want *AmbiguousError matching %v", tt.query, err, tt.ambiguous)
				}
			default:
				if err != nil || got.ID != tt.want {
					t.Fatalf("Get(%q) = %q, %v; want %q", tt.query, got.ID, err, tt.want)
				}
			}
		})
	}
}

func TestList(t *testing.T) {
	s, _ := openTest(t)
	mk := func(id, exp, compute string, st api.Status, sec int64) Record {
		r := testRecord(id, time.Unix(sec, 0))
		r.Experiment, r.Compute, r.Status = exp, compute, st
		return r
	}
	err := s.PutAll(t.Context(), []Record{
		mk("a", "e1", "local", api.StatusCompleted, 10),
		mk("b", "e2", "gpu", api.StatusRunning, 30),
		mk("c", "e1", "gpu", api.StatusFailed, 20),
		mk("d", "e1", "gpu", api.StatusCompleted, 30), // same time as b: id breaks the tie
		mk("e", "e2", "local", api.StatusCompleted, 5),
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all newest first", Filter{}, []string{"d", "b", "c", "a", "e"}},
		{"limit", Filter{Limit: 2}, []string{"d", "b"}},
		{"experiment", Filter{Experiment: "e1"}, []string{"d", "c", "a"}},
		{"compute", Filter{Compute: "local"}, []string{"a", "e"}},
		{"status", Filter{Status: api.StatusCompleted}, []string{"d", "a", "e"}},
		{"combined", Filter{Experiment: "e1", Compute: "gpu", Status: api.StatusCompleted}, []string{"d"}},
		{"experiment with limit", Filter{Experiment: "e2", Limit: 1}, []string{"b"}},
		{"no match", Filter{Experiment: "nope"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := s.List(t.Context(), tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, r.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("List(%+v) = %v, want %v", tt.f, got, tt.want)
			}
		})
	}
}

func TestUpdateStatus(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	id := "exp_1_aaaaaa"
	if err := s.Put(ctx, testRecord(id, time.Unix(1, 0))); err != nil {
		t.Fatal(err)
	}
	start, end := time.Unix(10, 0).UTC(), time.Unix(20, 0).UTC()
	steps := []struct {
		status   api.Status
		exit     *int
		reason   string
		start    *time.Time
		end      *time.Time
		want     api.Status
		wantExit *int
	}{
		{status: api.StatusRunning, start: &start, want: api.StatusRunning},
		{status: api.StatusFailed, exit: ptr(2), reason: "exit status 2", end: &end, want: api.StatusFailed, wantExit: ptr(2)},
		// A stale poll must not bring the finished run back.
		{status: api.StatusRunning, want: api.StatusFailed, wantExit: ptr(2)},
	}
	for i, st := range steps {
		if err := s.UpdateStatus(ctx, id, st.status, st.exit, st.reason, st.start, st.end); err != nil {
			t.Fatalf("step %d: UpdateStatus: %v", i, err)
		}
		got, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != st.want || !reflect.DeepEqual(got.ExitCode, st.wantExit) {
			t.Fatalf("step %d: status %s exit %v, want %s %v", i, got.Status, got.ExitCode, st.want, st.wantExit)
		}
		if got.StartedAt == nil || !got.StartedAt.Equal(start) {
			t.Fatalf("step %d: started_at = %v, want %v kept", i, got.StartedAt, start)
		}
	}
	got, _ := s.Get(ctx, id)
	if got.Reason != "exit status 2" || got.EndedAt == nil || !got.EndedAt.Equal(end) {
		t.Fatalf("reason %q ended_at %v", got.Reason, got.EndedAt)
	}
	if err := s.UpdateStatus(ctx, "missing", api.StatusRunning, nil, "", nil, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("UpdateStatus of a missing run = %v, want ErrNotFound", err)
	}
}

func TestSetOutputsApplyRun(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	id := "exp_1_aaaaaa"
	if err := s.Put(ctx, testRecord(id, time.Unix(1, 0))); err != nil {
		t.Fatal(err)
	}
	files := []api.OutputFile{{Path: "m.pt", Mode: 0o600, Size: 1, Hash: "ab"}}
	if err := s.SetOutputs(ctx, id, "/dl/out", files); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Outputs, files) || got.OutputsDir != "/dl/out" {
		t.Fatalf("outputs %+v dir %q", got.Outputs, got.OutputsDir)
	}
	if err := s.ApplyRun(ctx, apiRun(id)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Get(ctx, id)
	if got.Status != api.StatusCompleted || got.ExitCode == nil || *got.ExitCode != 0 ||
		got.EndedAt == nil || !got.EndedAt.Equal(time.Unix(9, 0)) {
		t.Fatalf("after ApplyRun: %+v", got)
	}
	for name, err := range map[string]error{
		"SetOutputs": s.SetOutputs(ctx, "missing", "", nil),
		"ApplyRun":   s.ApplyRun(ctx, apiRun("missing")),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of a missing run = %v, want ErrNotFound", name, err)
		}
	}
}

func TestExperiments(t *testing.T) {
	s, _ := openTest(t)
	now := time.Now()
	for i, e := range []string{"b", "a", "b", "c"} {
		r := testRecord("r"+string(rune('0'+i)), now.Add(time.Duration(i)*time.Second))
		r.Experiment = e
		if err := s.Put(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Experiments(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("Experiments = %v, want %v", got, want)
	}
}

func TestDelete(t *testing.T) {
	s, _ := openTest(t)
	keep, gone := testRecord("exp_1_keep", time.Unix(1, 0)), testRecord("exp_2_gone", time.Unix(2, 0))
	if err := s.PutAll(t.Context(), []Record{keep, gone}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutLog(gone.ID, strings.NewReader("log\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(t.Context(), gone.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(t.Context(), gone.ID); !errors.Is(err, ErrNotFound) || s.HasLog(gone.ID) {
		t.Fatalf("deleted run: Get %v, log kept %v", err, s.HasLog(gone.ID))
	}
	if _, err := s.Get(t.Context(), keep.ID); err != nil {
		t.Fatalf("the other run: %v", err)
	}
	if err := s.Delete(t.Context(), gone.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete: %v, want ErrNotFound", err)
	}
}
