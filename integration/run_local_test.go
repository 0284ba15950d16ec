package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

const argvScript = `import json, sys
print("ARGV " + json.dumps(sys.argv[1:]))
code = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 0
if code == 9:
    import os
    os.kill(os.getpid(), 9)
sys.exit(code)
`

// TestRunExitStatus: ferry run exits with the script's status (128+signal
// when it was killed), the history agrees, and arguments after SCRIPT reach
// the script untouched, ferry's own flags included.
func TestRunExitStatus(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"s.py": argvScript})
	tests := []struct {
		name     string
		args     []string
		code     int
		status   string
		wantArgv string
	}{
		{"exit 0", []string{"0", "--lr", "0.1", "--weird", "a b", "--", "--compute", "x", "--detach", "", "ü $HOME"}, 0, "Completed",
			`["0", "--lr", "0.1", "--weird", "a b", "--", "--compute", "x", "--detach", "", "\u00fc $HOME"]`},
		{"exit 3", []string{"3", "-h"}, 3, "Failed", `["3", "-h"]`},
		{"killed by signal 9", []string{"9"}, 137, "Failed", `["9"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := c.run(src, append([]string{"run", "s.py"}, tt.args...)...)
			if r.Code != tt.code {
				t.Fatalf("ferry run exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.Code, tt.code, r.Stdout, r.Stderr)
			}
			if want := "ARGV " + tt.wantArgv + "\n"; !strings.Contains(r.Stdout, want) {
				t.Errorf("stdout %q lacks %q", r.Stdout, want)
			}
			id := runIDOf(t, r.Stderr)
			rec := c.show(id)
			if rec.Status != tt.status || exitOf(rec) != tt.code {
				t.Errorf("show: status %s exit %d, want %s %d", rec.Status, exitOf(rec), tt.status, tt.code)
			}
		})
	}
}

const envScript = `import json, os, ferry_run
info = {k: os.environ.get(k) for k in ["FERRY_RUN_ID", "FERRY_EXPERIMENT", "FERRY_OUTPUTS_DIR", "FERRY_METRICS_FILE", "MY_VAR"]}
info["data"] = open("data/in.txt").read()
info["outputs_is_dir"] = os.path.isdir("outputs")
info["outputs_same"] = os.path.samefile("outputs", os.environ["FERRY_OUTPUTS_DIR"])
print("INFO " + json.dumps(info), flush=True)
ferry_run.log("loss", 0.5, step=1)
with open("outputs/blob.bin", "wb") as f:
    f.write(bytes(range(256)) * 4099)
os.makedirs("outputs/sub", exist_ok=True)
open("outputs/sub/note.txt", "w").write("hello\n")
`

// TestRunEnvironment: what a script sees in its run, metrics, outputs and
// download, and `ferry runs --json`.
func TestRunEnvironment(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"train.py": envScript, "data/in.txt": "payload-42"})
	first := c.mustRun(src, "run", "--experiment", "envexp", "train.py")
	r := c.mustRun(src, "run", "--experiment", "envexp", "--env", "MY_VAR=x=y z", "train.py")
	id := runIDOf(t, r.Stderr)

	line := lineWithPrefix(t, r.Stdout, "INFO ")
	var info map[string]any
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		t.Fatalf("parse %q: %v", line, err)
	}
	want := map[string]any{"FERRY_RUN_ID": id, "FERRY_EXPERIMENT": "envexp", "MY_VAR": "x=y z",
		"data": "payload-42", "outputs_is_dir": true, "outputs_same": true}
	for k, v := range want {
		if info[k] != v {
			t.Errorf("in the run %s = %v, want %v", k, info[k], v)
		}
	}
	if mf, _ := info["FERRY_METRICS_FILE"].(string); mf == "" {
		t.Errorf("FERRY_METRICS_FILE not set: %v", info)
	}

	rec := c.show(id)
	if !hasMetric(rec.Metrics, "loss", 0.5, 1) {
		t.Errorf("show metrics %+v lack loss=0.5 step 1", rec.Metrics)
	}

	to := filepath.Join(t.TempDir(), "out")
	c.mustRun(src, "download", id, "--to", to)
	got, err := os.ReadFile(filepath.Join(to, "blob.bin"))
	if err != nil || !bytes.Equal(got, bytes.Repeat(seq256(), 4099)) {
		t.Errorf("downloaded blob.bin differs (%d bytes, err %v)", len(got), err)
	}
	if b, err := os.ReadFile(filepath.Join(to, "sub", "note.txt")); err != nil || string(b) != "hello\n" {
		t.Errorf("downloaded sub/note.txt = %q, %v", b, err)
	}

	var list []runRecord
	if err := json.Unmarshal([]byte(c.mustRun(src, "runs", "--json").Stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != id || list[1].ID != runIDOf(t, first.Stderr) {
		t.Fatalf("runs --json order: %+v, want newest (%s) first", list, id)
	}
	for _, e := range list {
		if _, err := time.Parse(time.RFC3339, e.CreatedAt); err != nil || e.Status != "Completed" ||
			e.Compute != "local" || e.Experiment != "envexp" {
			t.Errorf("runs --json entry %+v (created_at: %v)", e, err)
		}
	}
}

func seq256() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func hasMetric(ms []runMetric, name string, v float64, step int64) bool {
	for _, m := range ms {
		if m.Name == name && m.Value == v && m.Step != nil && *m.Step == step {
			return true
		}
	}
	return false
}

func lineWithPrefix(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			return rest
		}
	}
	t.Fatalf("no line starting %q in:\n%s", prefix, out)
	return ""
}

// TestRunStreamsLive: a line the script prints reaches ferry's stdout while
// the script is still running; the script's stderr comes to stdout too
// (one log, merged in order).
func TestRunStreamsLive(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"live.py": "import sys, time\nprint('first', flush=True)\ntime.sleep(2)\nprint('second', file=sys.stderr)\n"})
	lr := c.startRun(t, t.Context(), src, "live.py")
	line, err := lr.stdout.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first stdout line %q, %v", line, err)
	}
	got := time.Now()
	rest, code, stderr := lr.wait(t)
	if code != 0 || rest != "second\n" {
		t.Fatalf("exit %d, rest %q\nstderr:\n%s", code, rest, stderr)
	}
	if lag := time.Since(got); lag < time.Second {
		t.Errorf("the first line arrived only %s before the end: not streamed live", lag)
	}
}

const outputScript = `import os, sys, time
name = sys.argv[1]
time.sleep(0.5)
open("outputs/" + name + ".txt", "w").write(os.environ["FERRY_RUN_ID"])
print("done", name)
`

// TestRunTwoAtOnce: two runs started at the same time keep their outputs
// apart.
func TestRunTwoAtOnce(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"o.py": outputScript})
	// Both start at once on a cold FERRY_HOME: they race to start the
	// local executor too.
	names := []string{"alpha", "beta"}
	stderrs := make([]bytes.Buffer, len(names))
	errs := make(chan error, len(names))
	for i, name := range names {
		cmd := c.command(t.Context(), src, "run", "--detach", "o.py", name)
		cmd.Stderr = &stderrs[i]
		go func() { errs <- cmd.Run() }()
	}
	for range names {
		if err := <-errs; err != nil {
			t.Fatalf("ferry run --detach: %v\n%s\n%s", err, stderrs[0].String(), stderrs[1].String())
		}
	}
	ids := map[string]string{}
	for i, name := range names {
		ids[name] = runIDOf(t, stderrs[i].String())
	}
	for name, id := range ids {
		r := c.mustRun(src, "logs", "-f", id)
		if r.Stdout != "done "+name+"\n" {
			t.Errorf("log of %s: %q", name, r.Stdout)
		}
		to := filepath.Join(t.TempDir(), name)
		c.mustRun(src, "download", id, "--to", to)
		entries, _ := os.ReadDir(to)
		if len(entries) != 1 || entries[0].Name() != name+".txt" {
			t.Errorf("outputs of %s: %v, want only %s.txt", name, entries, name)
		}
		if b, _ := os.ReadFile(filepath.Join(to, name+".txt")); string(b) != id {
			t.Errorf("%s.txt = %q, want %s", name, b, id)
		}
		if rec := c.show(id); rec.Status != "Completed" {
			t.Errorf("run %s: %s", name, rec.Status)
		}
	}
}

// TestRunBadInput: mistakes are refused before anything is uploaded, with
// a message that names the problem and exit status 1 or 2.
func TestRunBadInput(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"ok.py": "print(1)\n", "secret.py": "print(2)\n", ".gitignore": "secret.py\n"})
	outside := sourceDir(t, testutil.Tree{"other.py": "print(3)\n"})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing script", []string{"run", "nope.py"}, "nope.py not found"},
		{"script outside source", []string{"run", filepath.Join(outside, "other.py")}, "outside the source directory"},
		{"script ignored", []string{"run", "secret.py"}, "excluded from the snapshot"},
		{"unknown compute", []string{"run", "--compute", "nope", "ok.py"}, "nope"},
		{"malformed env", []string{"run", "--env", "NOEQUALS", "ok.py"}, "NOEQUALS"},
		{"missing source dir", []string{"run", "--source", "/nonexistent/src", "ok.py"}, "/nonexistent/src"},
		{"unknown flag", []string{"run", "--bogus", "ok.py"}, "--bogus"},
		{"no script", []string{"run"}, "SCRIPT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.run(src, tt.args...)
			if r.Code != 1 && r.Code != 2 {
				t.Errorf("exit %d, want 1 or 2\nstderr:\n%s", r.Code, r.Stderr)
			}
			if !strings.Contains(r.Stderr, tt.want) || !strings.HasPrefix(r.Stderr, "ferry: ") {
				t.Errorf("stderr %q does not start 'ferry: ' and name %q", r.Stderr, tt.want)
			}
			if strings.Contains(r.Stderr, "ferry: upload") {
				t.Errorf("stderr mentions an upload: %q", r.Stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(c.home, "local")); !os.IsNotExist(err) {
		t.Errorf("the local executor was started by refused runs (stat: %v)", err)
	}
	if out := c.mustRun(src, "runs", "--json").Stdout; strings.TrimSpace(out) != "[]" {
		t.Errorf("refused runs are in the history: %s", out)
	}

	// An interpreter that cannot run is only found on the target: the run
	// fails with a reason that names it.
	r := c.run(src, "run", "--python", "/etc/hostname", "ok.py")
	if r.Code == 0 || !strings.Contains(r.Stderr, "/etc/hostname") {
		t.Errorf("--python /etc/hostname: exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
	rec := c.show(runIDOf(t, r.Stderr))
	if rec.Status != "Failed" || !strings.Contains(rec.Reason, "/etc/hostname") {
		t.Errorf("--python /etc/hostname: status %s reason %q", rec.Status, rec.Reason)
	}
}

// TestRunDryRun: --dry-run --json prints the plan and runs nothing.
func TestRunDryRun(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	marker := filepath.Join(t.TempDir(), "ran")
	src := sourceDir(t, testutil.Tree{"m.py": "import sys\nopen(sys.argv[1], 'w').write('x')\n"})
	r := c.mustRun(src, "run", "--dry-run", "--json", "--env", "A=1", "--max-duration", "1h", "m.py", marker, "--x")
	var plan struct {
		Compute     string            `json:"compute"`
		Script      string            `json:"script"`
		Arguments   []string          `json:"arguments"`
		Env         map[string]string `json:"environment_variables"`
		MaxDuration string            `json:"max_duration"`
		Environment struct {
			Kind   string `json:"kind"`
			Python string `json:"python"`
		} `json:"environment"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &plan); err != nil {
		t.Fatalf("dry-run JSON: %v\n%s", err, r.Stdout)
	}
	if plan.Compute != "local" || plan.Script != "m.py" || strings.Join(plan.Arguments, " ") != marker+" --x" ||
		plan.Env["A"] != "1" || plan.MaxDuration != "1h0m0s" || plan.Environment.Kind != "user-managed" ||
		plan.Environment.Python != "python3" {
		t.Errorf("plan: %+v\n%s", plan, r.Stdout)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("dry run ran the script")
	}
	if out := c.mustRun(src, "runs", "--json").Stdout; strings.TrimSpace(out) != "[]" {
		t.Errorf("dry run left a history entry: %s", out)
	}
}

// TestRunHistoryList: ten runs are listed, newest first, and a unique
// 8-character prefix finds a run.
func TestRunHistoryList(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"q.py": "print('q')\n"})
	var ids []string
	for i := range 10 {
		r := c.mustRun(src, "run", "--detach", "--experiment", "h"+string(rune('0'+i)), "q.py")
		ids = append(ids, runIDOf(t, r.Stderr))
	}
	var list []runRecord
	if err := json.Unmarshal([]byte(c.mustRun(src, "runs", "--json").Stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 10 {
		t.Fatalf("runs --json lists %d runs, want 10", len(list))
	}
	for i, e := range list {
		if e.ID != ids[9-i] {
			t.Errorf("runs --json[%d] = %s, want %s (newest first)", i, e.ID, ids[9-i])
		}
	}
	table := c.mustRun(src, "runs").Stdout
	for _, id := range ids {
		if !strings.Contains(table, id) {
			t.Errorf("ferry runs lacks %s:\n%s", id, table)
		}
	}
	if got := c.show(ids[3][:8]); got.ID != ids[3] {
		t.Errorf("show %s found %s, want %s", ids[3][:8], got.ID, ids[3])
	}
}
