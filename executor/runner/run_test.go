//go:build linux

package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/testutil"
)

func TestRunExitStatus(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		status   api.Status
		code     int
		reason   string
		wantLogs string
	}{
		{"exit 0", py("print('hello')"), api.StatusCompleted, 0, "", "hello\n"},
		{"exit 1", py("import sys", "print('bad', file=sys.stderr)", "sys.exit(1)"), api.StatusFailed, 1, "exit status 1", "bad\n"},
		{"killed by signal", py("import os, signal", "os.kill(os.getpid(), signal.SIGKILL)"), api.StatusFailed, 137, "killed by signal SIGKILL (exit 137; " + oomHint + ")", ""},
		{"exit 137", py("import sys", "sys.exit(137)"), api.StatusFailed, 137, "exit status 137 (128+9: a process was killed by SIGKILL; " + oomHint + ")", ""},
	}
	trees := map[string]testutil.Tree{}
	for i, tt := range tests {
		trees[string(rune('a'+i))] = testutil.Tree{"train.py": tt.script}
	}
	e := newEnv(t, trees)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := e.submit(api.RunSpec{Snapshot: string(rune('a' + i)), Script: "train.py"})
			got := e.wait(run.Spec.ID)
			if got.Status != tt.status || got.ExitCode == nil || *got.ExitCode != tt.code || got.Reason != tt.reason {
				t.Fatalf("got status %s code %v reason %q; want %s %d %q", got.Status, deref(got.ExitCode), got.Reason, tt.status, tt.code, tt.reason)
			}
			if got.StartedAt == nil || got.EndedAt == nil || got.EndedAt.Before(*got.StartedAt) {
				t.Fatalf("bad times: started %v ended %v", got.StartedAt, got.EndedAt)
			}
			if log := string(e.readLog(got.Spec.ID, 0, false)); log != tt.wantLogs {
				t.Fatalf("log = %q, want %q", log, tt.wantLogs)
			}
			if got.LogSize != int64(len(tt.wantLogs)) {
				t.Fatalf("log size %d, want %d", got.LogSize, len(tt.wantLogs))
			}
		})
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestRunEnvironmentAndMetrics(t *testing.T) {
	script := py(
		"import os, ferry_run",
		"for k in ['FERRY_RUN_ID','FERRY_EXPERIMENT','FERRY_OUTPUTS_DIR','FERRY_METRICS_FILE','PYTHONUNBUFFERED','MY_VAR']:",
		"    print(k + '=' + os.environ.get(k, '<unset>'))",
		"print('PYTHONPATH0=' + os.environ['PYTHONPATH'].split(':')[0])",
		"print('CWD=' + os.getcwd())",
		"print('OUTPUTS_ISDIR=' + str(os.path.isdir(ferry_run.outputs_dir())))",
		"ferry_run.log('loss', 0.5, step=1)",
		"ferry_run.log('loss', 0.25, step=2)",
		"ferry_run.get_context().log('acc', 0.9)",
		"ferry_run.log_list('lr', [0.1, 0.01])",
		"with open(os.environ['FERRY_METRICS_FILE'], 'a') as f: f.write('not json\\n')",
		"ferry_run.log('nan', float('nan'))",
	)
	e := newEnv(t, map[string]testutil.Tree{"s": {"src/train.py": script}})
	run := e.submit(api.RunSpec{
		Snapshot: "s", Script: "src/train.py", Experiment: "mnist",
		Env: map[string]string{"MY_VAR": "42", "FERRY_RUN_ID": "spoofed"},
	})
	got := e.wait(run.Spec.ID)
	if got.Status != api.StatusCompleted {
		t.Fatalf("status %s (%s), log:\n%s", got.Status, got.Reason, e.readLog(run.Spec.ID, 0, false))
	}
	work := filepath.Join(got.Dir, "work")
	want := []string{
		"FERRY_RUN_ID=" + run.Spec.ID,
		"FERRY_EXPERIMENT=mnist",
		"FERRY_OUTPUTS_DIR=" + filepath.Join(work, "outputs"),
		"FERRY_METRICS_FILE=" + filepath.Join(got.Dir, "metrics.jsonl"),
		"PYTHONUNBUFFERED=1",
		"MY_VAR=42",
		"PYTHONPATH0=" + filepath.Join(e.state, "lib", "python"),
		"CWD=" + work,
		"OUTPUTS_ISDIR=True",
	}
	log := string(e.readLog(run.Spec.ID, 0, false))
	for _, w := range want {
		if !strings.Contains(log, w+"\n") {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
	var names []string
	metrics := e.metrics(run.Spec.ID)
	for _, m := range metrics {
		names = append(names, m.Name)
		if m.Time == nil {
			t.Errorf("metric %s has no time", m.Name)
		}
	}
	if strings.Join(names, ",") != "loss,loss,acc,lr,nan" {
		t.Fatalf("metrics %v", names)
	}
	if m := metrics[1]; m.Value != 0.25 || m.Step == nil || *m.Step != 2 || m.Kind != api.MetricScalar {
		t.Fatalf("second metric %+v", m)
	}
	if m := metrics[3]; m.Kind != api.MetricList || len(m.Values) != 2 || m.Values[1] != 0.01 {
		t.Fatalf("list metric %+v", m)
	}
	if m := metrics[4]; m.Kind != api.MetricScalar || m.Text != "nan" {
		t.Fatalf("NaN metric %+v", m)
	}
}

func TestTwoRunsAtOnce(t *testing.T) {
	script := py(
		"import os, sys",
		"open(os.path.join(os.environ['FERRY_OUTPUTS_DIR'], 'who'), 'w').write(os.environ['FERRY_RUN_ID'])",
		"print('run', os.environ['FERRY_RUN_ID'])",
	)
	e := newEnv(t, map[string]testutil.Tree{"s": {"a.py": script}})
	a := e.submit(api.RunSpec{Snapshot: "s", Script: "a.py"})
	b := e.submit(api.RunSpec{Snapshot: "s", Script: "a.py"})
	for _, run := range []api.Run{a, b} {
		got := e.wait(run.Spec.ID)
		if got.Status != api.StatusCompleted {
			t.Fatalf("%s: %s %s", run.Spec.ID, got.Status, got.Reason)
		}
		who, err := os.ReadFile(filepath.Join(got.Dir, "work", "outputs", "who"))
		if err != nil || string(who) != run.Spec.ID {
			t.Fatalf("%s wrote %q (%v)", run.Spec.ID, who, err)
		}
	}
	if a.Dir == b.Dir {
		t.Fatal("runs share a directory")
	}
}
