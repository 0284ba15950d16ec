//go:build linux

package runner

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/testutil"
)

func TestPrepareFailures(t *testing.T) {
	// The docker case must find no engine, whatever this machine has.
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	tests := []struct {
		name   string
		spec   api.RunSpec
		reason string
	}{
		{"interpreter not on PATH", api.RunSpec{Script: "a.py", Environment: api.EnvironmentSpec{Kind: "user-managed", Python: "python9.99-nope"}},
			`python interpreter "python9.99-nope" not found on PATH`},
		{"interpreter path missing", api.RunSpec{Script: "a.py", Environment: api.EnvironmentSpec{Python: "/nonexistent/bin/python3"}},
			`python interpreter "/nonexistent/bin/python3" is missing or not executable`},
		{"interpreter not executable", api.RunSpec{Script: "a.py", Environment: api.EnvironmentSpec{Python: "a.py"}},
			`python interpreter "a.py" not found on PATH`},
		{"interpreter relative not executable", api.RunSpec{Script: "a.py", Environment: api.EnvironmentSpec{Python: "./a.py"}},
			`python interpreter "./a.py" is missing or not executable`},
		{"unsupported kind", api.RunSpec{Script: "a.py", Environment: api.EnvironmentSpec{Kind: "spark"}},
			`environment kind "spark" is not supported`},
		{"conda without spec", api.RunSpec{Script: "a.py", Environment: api.EnvironmentSpec{Kind: "conda"}},
			"conda environment: the run spec carries no conda spec"},
		{"docker engine unreachable", api.RunSpec{Script: "a.py", Environment: api.EnvironmentSpec{Kind: "docker", DockerImage: "debian"}},
			"docker is not available on this target: "},
		{"script missing", api.RunSpec{Script: "nope.py"}, `script "nope.py" not found in the snapshot`},
		{"script outside", api.RunSpec{Script: "../run.json"}, `script "../run.json" is outside the snapshot`},
		{"script absolute", api.RunSpec{Script: "/etc/passwd"}, `script "/etc/passwd" is outside the snapshot`},
		{"script symlink escapes", api.RunSpec{Script: "escape.py"}, `script "escape.py"`},
		{"script is a directory", api.RunSpec{Script: "dir"}, `script "dir" is not a regular file`},
		{"snapshot missing", api.RunSpec{Script: "a.py", Snapshot: "gone"}, "materialize snapshot gone: snapshot gone not found"},
	}
	e := newEnv(t, map[string]testutil.Tree{"s": {
		"a.py": "print(1)\n", "escape.py": "->../../run.json", "dir/": "",
	}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.spec.Snapshot == "" {
				tt.spec.Snapshot = "s"
			}
			run := e.submit(tt.spec)
			got := e.wait(run.Spec.ID)
			if got.Status != api.StatusFailed || !strings.HasPrefix(got.Reason, tt.reason) || got.ExitCode != nil {
				t.Fatalf("status %s reason %q code %v; want Failed %q", got.Status, got.Reason, deref(got.ExitCode), tt.reason)
			}
			if log := string(e.readLog(run.Spec.ID, 0, true)); log != "ferry: "+got.Reason+"\n" {
				t.Fatalf("log %q lacks the reason", log)
			}
		})
	}
}

func TestSubmitErrors(t *testing.T) {
	e := newEnv(t, map[string]testutil.Tree{"s": {"a.py": "print(1)\n"}})
	dup := e.submit(api.RunSpec{Snapshot: "s", Script: "a.py"})
	tests := []struct {
		name string
		spec any
		code int
	}{
		{"duplicate id", api.RunSpec{ID: dup.Spec.ID, Snapshot: "s", Script: "a.py"}, http.StatusConflict},
		{"dot dot id", api.RunSpec{ID: "..", Snapshot: "s", Script: "a.py"}, http.StatusBadRequest},
		{"slash id", api.RunSpec{ID: "a/b", Snapshot: "s", Script: "a.py"}, http.StatusBadRequest},
		{"long id", api.RunSpec{ID: strings.Repeat("a", 65), Snapshot: "s", Script: "a.py"}, http.StatusBadRequest},
		{"empty id", api.RunSpec{Snapshot: "s", Script: "a.py"}, http.StatusBadRequest},
		{"no script", api.RunSpec{ID: "x1", Snapshot: "s"}, http.StatusBadRequest},
		{"no snapshot", api.RunSpec{ID: "x2", Script: "a.py"}, http.StatusBadRequest},
		{"not json", "{", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := e.do("POST", "/v1/runs", tt.spec, nil); code != tt.code {
				t.Fatalf("status %d, want %d", code, tt.code)
			}
		})
	}
	e.wait(dup.Spec.ID)
	var runs []api.Run
	if code := e.do("GET", "/v1/runs", nil, &runs); code != http.StatusOK || len(runs) != 1 || runs[0].Spec.ID != dup.Spec.ID {
		t.Fatalf("list: %d %+v", code, runs)
	}
	for _, p := range []string{"/v1/runs/nope", "/v1/runs/nope/outputs", "/v1/runs/nope/files/a.py"} {
		if code := e.do("GET", p, nil, nil); code != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	if code := e.do("POST", "/v1/runs/nope/cancel", nil, nil); code != http.StatusNotFound {
		t.Errorf("cancel unknown: %d", code)
	}
}
