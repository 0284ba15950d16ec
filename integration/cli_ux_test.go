package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// TestCLIUsageErrors: usage mistakes exit 2 and point to the help of the
// command that was mistyped; --version works like 'ferry version'.
func TestCLIUsageErrors(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	tests := []struct {
		args []string
		help string
	}{
		{[]string{"show"}, "ferry show --help"},
		{[]string{"runs", "extra"}, "ferry runs --help"},
		{[]string{"runs", "--bogus"}, "ferry runs --help"},
		{[]string{"compute", "detach"}, "ferry compute detach --help"},
		{[]string{"compute", "bogus"}, "ferry compute --help"},
		{[]string{"bogus"}, "ferry --help"},
	}
	for _, tt := range tests {
		r := c.run("", tt.args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, "Run '"+tt.help+"' for usage.") {
			t.Errorf("ferry %s: exit %d, stderr:\n%s\nwant exit 2 pointing to %q", strings.Join(tt.args, " "), r.Code, r.Stderr, tt.help)
		}
	}
	v := c.mustRun("", "--version")
	if want := c.mustRun("", "version").Stdout; v.Stdout != want || !strings.HasPrefix(v.Stdout, "ferry ") {
		t.Errorf("ferry --version printed %q, ferry version %q", v.Stdout, want)
	}
}

// TestComputeAttachLocal: attaching "local" is refused with a hint that
// works, never "detach it first" (detach refuses local).
func TestComputeAttachLocal(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	r := c.run("", "compute", "attach", "local", "--address", "127.0.0.1", "--no-check")
	if r.Code != 1 || strings.Contains(r.Stderr, "detach") || !strings.Contains(r.Stderr, "ferry compute attach NAME") {
		t.Errorf("attach local: exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
}

// TestRunsFilters: --status is checked and case-insensitive, and a filter
// that matches nothing says so instead of "no runs yet".
func TestRunsFilters(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	if r := c.mustRun("", "runs"); !strings.Contains(r.Stderr, "no runs yet") {
		t.Errorf("empty history: %q", r.Stderr)
	}
	src := sourceDir(t, testutil.Tree{"a.py": "print('hi')\n"})
	id := runIDOf(t, c.mustRun(src, "run", "--experiment", "exp1", "a.py").Stderr)

	if r := c.run("", "runs", "--status", "bogus"); r.Code != 2 || !strings.Contains(r.Stderr, "Completed") {
		t.Errorf("--status bogus: exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
	for _, st := range []string{"completed", "COMPLETED", "Completed"} {
		if r := c.mustRun("", "runs", "--status", st); !strings.Contains(r.Stdout, id) {
			t.Errorf("--status %s does not list %s:\n%s%s", st, id, r.Stdout, r.Stderr)
		}
	}
	for _, args := range [][]string{{"--experiment", "nosuch"}, {"--status", "failed"}, {"--experiment", "exp1", "--compute", "other"}} {
		r := c.mustRun("", append([]string{"runs"}, args...)...)
		if strings.Contains(r.Stderr, "no runs yet") || !strings.Contains(r.Stderr, "no runs match "+strings.Join(args, " ")) ||
			!strings.Contains(r.Stderr, "1 in the history") {
			t.Errorf("runs %v: stderr %q", args, r.Stderr)
		}
	}
}

// TestCompletion: shell completion offers run ids and compute target names.
func TestCompletion(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"a.py": "print('hi')\n"})
	id := runIDOf(t, c.mustRun(src, "run", "a.py").Stderr)
	c.mustRun("", "compute", "attach", "box1", "--address", "127.0.0.1", "--no-check")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"show", ""}, id + "\tCompleted a.py"},
		{[]string{"logs", id[:6]}, id + "\t"},
		{[]string{"download", ""}, id + "\t"},
		{[]string{"run", "--compute", ""}, "box1\tremote"},
		{[]string{"env", "list", "--compute", "b"}, "box1\tremote"},
		{[]string{"compute", "detach", ""}, "box1\tremote"},
	}
	for _, tt := range tests {
		r := c.mustRun("", append([]string{"__complete"}, tt.args...)...)
		if !strings.Contains(r.Stdout, tt.want) {
			t.Errorf("completing %q: %q lacks %q", tt.args, r.Stdout, tt.want)
		}
	}
}

// TestJSONEverywhere: cancel, download, compute detach and env rm print JSON
// with --json.
func TestJSONEverywhere(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"a.py": "import os\nopen('outputs/o.txt', 'w').write('x')\n"})
	id := runIDOf(t, c.mustRun(src, "run", "a.py").Stderr)
	c.mustRun("", "compute", "attach", "box1", "--address", "127.0.0.1", "--no-check")
	dir := t.TempDir() + "/out"
	tests := []struct {
		args []string
		want map[string]any
	}{
		{[]string{"cancel", "--json", id}, map[string]any{"id": id, "status": "Completed", "canceled": false}},
		{[]string{"download", "--json", "--to", dir, id}, map[string]any{"id": id, "dir": dir, "files": 1.0}},
		{[]string{"compute", "detach", "--json", "box1"}, map[string]any{"name": "box1", "detached": true}},
		{[]string{"env", "rm", "--json", "0123456789abcdef"}, nil},
	}
	for _, tt := range tests {
		r := c.run(src, tt.args...)
		if tt.want == nil {
			// No such environment: an error, and stdout stays clean JSON.
			if r.Code != 1 || strings.TrimSpace(r.Stdout) != `{
  "removed": []
}` {
				t.Errorf("ferry %v: exit %d, stdout %q", tt.args, r.Code, r.Stdout)
			}
			continue
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil || r.Code != 0 {
			t.Errorf("ferry %v: exit %d, %v; stdout %q stderr %q", tt.args, r.Code, err, r.Stdout, r.Stderr)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("ferry %v: %s = %v, want %v", tt.args, k, got[k], v)
			}
		}
	}
}

// TestCanceledRunExit: a canceled run has no exit code in the history, and
// ferry run and ferry logs -f both exit 143 for it (not 130: Ctrl-C's);
// ferry download during a run says its outputs come when it ends.
func TestCanceledRunExit(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"s.py": "import time\nprint('up', flush=True)\ntime.sleep(120)\n"})
	lr := c.startRun(t, t.Context(), src, "s.py")
	if line, err := lr.stdout.ReadString('\n'); err != nil || line != "up\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	r := c.run(src, "download", lr.id)
	if r.Code != 1 || !strings.Contains(r.Stderr, "outputs arrive when it ends") || strings.Contains(r.Stdout, "wrote") {
		t.Errorf("download during the run: exit %d\nstdout %q\nstderr %q", r.Code, r.Stdout, r.Stderr)
	}
	c.mustRun(src, "cancel", lr.id)
	_, code, stderr := lr.wait(t)
	if code != 143 {
		t.Errorf("ferry run of a canceled run exits %d, want 143; stderr:\n%s", code, stderr)
	}
	deadline := time.Now().Add(30 * time.Second)
	for c.show(lr.id).Status != "Canceled" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if rec := c.show(lr.id); rec.Status != "Canceled" || rec.ExitCode != nil {
		t.Errorf("show: status %s exit code %d, want Canceled with none", rec.Status, exitOf(rec))
	}
	if r := c.run(src, "logs", "-f", lr.id); r.Code != 143 || !strings.Contains(r.Stdout, "up\n") {
		t.Errorf("logs -f of a canceled run: exit %d, stdout %q, want 143", r.Code, r.Stdout)
	}
}

// TestInputErrorsAreClear: a missing file is named with its absolute path,
// a YAML error carries one line number (where the file stops making
// sense), and no message repeats its prefix.
func TestInputErrorsAreClear(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{
		"a.py":          "print(1)\n",
		"bad.yml":       "dependencies:\n  - python=3.10\n  - [bad\n",
		"bad.runconfig": "script: a.py\nenvironment:\n  python:\n    userManagedDependencies: [1\n",
	})
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--conda-file", "nosuch.yml", "a.py"}, "ferry: conda file nosuch.yml not found (no file " + src + "/nosuch.yml)\n"},
		{[]string{"--dockerfile", "nosuch", "a.py"}, "ferry: Dockerfile nosuch not found (no file " + src + "/nosuch)\n"},
		{[]string{"--runconfig", "nosuch.rc"}, "ferry: run configuration nosuch.rc not found (no file " + src + "/nosuch.rc)\n"},
		{[]string{"--conda-file", "bad.yml", "a.py"}, "ferry: conda spec bad.yml: line 3: invalid YAML (did not find expected ',' or ']')\n"},
		{[]string{"--runconfig", "bad.runconfig"}, "ferry: run configuration bad.runconfig: line 4: invalid YAML (did not find expected ',' or ']')\n"},
	}
	for _, tt := range tests {
		r := c.run(src, append([]string{"run", "--dry-run"}, tt.args...)...)
		if r.Code == 0 || r.Stderr != tt.want {
			t.Errorf("ferry run %v: exit %d, stderr\n%q\nwant\n%q", tt.args, r.Code, r.Stderr, tt.want)
		}
	}
}

// TestRunsShowTruth: a detached run is reported as started, ferry runs asks
// the target about unfinished runs (so a canceled run reads Canceled, not
// Running), and --no-refresh marks what it did not ask about.
func TestRunsShowTruth(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"s.py": "import time\nprint('up', flush=True)\ntime.sleep(120)\n"})
	var det struct{ ID, Status string }
	r := c.mustRun(src, "run", "--detach", "--json", "s.py")
	if err := json.Unmarshal([]byte(r.Stdout), &det); err != nil || det.Status != "Running" {
		t.Fatalf("run --detach --json: %q, %v; want status Running", r.Stdout, err)
	}
	listed := func(args ...string) map[string]any {
		var recs []map[string]any
		out := c.mustRun("", append([]string{"runs", "--json"}, args...)...).Stdout
		if err := json.Unmarshal([]byte(out), &recs); err != nil || len(recs) != 1 {
			t.Fatalf("runs --json: %q, %v", out, err)
		}
		return recs[0]
	}
	if rec := listed("--no-refresh"); rec["status"] != "Running" || rec["stale"] != true {
		t.Errorf("runs --no-refresh: %v, want Running marked stale", rec)
	}
	if out := c.mustRun("", "runs", "--no-refresh").Stdout; !strings.Contains(out, "Running?") {
		t.Errorf("runs --no-refresh text does not mark the status:\n%s", out)
	}
	if rec := listed(); rec["status"] != "Running" || rec["stale"] != nil {
		t.Errorf("runs: %v, want Running, fresh", rec)
	}
	c.mustRun("", "cancel", det.ID)
	deadline := time.Now().Add(30 * time.Second)
	rec := listed()
	for rec["status"] != "Canceled" && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		rec = listed()
	}
	if rec["status"] != "Canceled" || rec["ended_at"] == nil {
		t.Errorf("runs after cancel: %v, want Canceled with an end", rec)
	}
}

// TestLogsKeptLocally: a finished run's log is kept, compressed, in the
// local history: logs, logs -f and logs --json work with the target's state
// gone, and --json ends with the run's status.
func TestLogsKeptLocally(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"a.py": "import sys\nprint('one')\nprint('two', file=sys.stderr)\nsys.stdout.write('three')\nsys.exit(4)\n"})
	r := c.run(src, "run", "a.py")
	id := runIDOf(t, r.Stderr)
	if r.Code != 4 {
		t.Fatalf("run: exit %d\n%s", r.Code, r.Stderr)
	}
	c.stopLocalExecutor()
	if err := os.RemoveAll(filepath.Join(c.home, "local")); err != nil {
		t.Fatal(err)
	}
	matches, _ := filepath.Glob(filepath.Join(c.home, "logs", id+".log.gz"))
	if len(matches) != 1 {
		t.Fatalf("no compressed log of %s under %s/logs", id, c.home)
	}
	if r := c.mustRun("", "logs", id); r.Stdout != "one\ntwo\nthree" {
		t.Errorf("logs with the target's state gone: %q", r.Stdout)
	}
	if r := c.run("", "logs", "-f", id); r.Code != 4 || r.Stdout != "one\ntwo\nthree" {
		t.Errorf("logs -f: exit %d, %q; want 4", r.Code, r.Stdout)
	}
	r = c.mustRun("", "logs", "--json", id)
	want := `{"line":"one"}` + "\n" + `{"line":"two"}` + "\n" + `{"line":"three"}` + "\n" +
		`{"exit_code":4,"id":"` + id + `","status":"Failed"}` + "\n"
	if r.Stdout != want {
		t.Errorf("logs --json:\n%s\nwant\n%s", r.Stdout, want)
	}
}
