package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/internal/testutil/fakeconda"
)

// condaCLI returns a CLI whose local executor finds the fake micromamba
// (internal/testutil/fakeconda) first on PATH, and the fake's call log.
func condaCLI(t *testing.T, extraEnv ...string) (*cli, string) {
	t.Helper()
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	logPath := filepath.Join(c.home, "fakeconda.log")
	// HOME too: the tool registers prefixes in ~/.conda/environments.txt.
	c.env = append(c.env, "PATH="+fakeconda.Dir()+string(os.PathListSeparator)+os.Getenv("PATH"), "FAKECONDA_LOG="+logPath, "HOME="+c.home)
	c.env = append(c.env, extraEnv...)
	return c, logPath
}

func fakeCalls(t *testing.T, logPath string) int {
	t.Helper()
	data, err := os.ReadFile(logPath)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "\n")
}

// showRun returns `ferry show --json ID` decoded.
func showRun(t *testing.T, c *cli, dir, id string) map[string]any {
	t.Helper()
	var rec map[string]any
	if err := json.Unmarshal([]byte(c.mustRun(dir, "show", "--json", id).Stdout), &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// runID picks the run id out of ferry run's stderr ("ferry: run ID on ...").
func runID(t *testing.T, stderr string) string {
	t.Helper()
	for _, line := range strings.Split(stderr, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "ferry:" && f[1] == "run" {
			return f[2]
		}
	}
	t.Fatalf("no run id in:\n%s", stderr)
	return ""
}

// prepTime is the time a run spent between creation and Running.
func prepTime(t *testing.T, rec map[string]any) time.Duration {
	t.Helper()
	created, err1 := time.Parse(time.RFC3339Nano, rec["created_at"].(string))
	started, err2 := time.Parse(time.RFC3339Nano, rec["started_at"].(string))
	if err1 != nil || err2 != nil {
		t.Fatalf("times: %v %v", err1, err2)
	}
	return started.Sub(created)
}

const condaTrain = `import os, sys
print("prefix=" + sys.prefix)
print("conda_prefix=" + os.environ.get("CONDA_PREFIX", ""))
print("myvar=" + os.environ.get("MYVAR", ""))
`

func TestCondaEnvironmentBuiltOnceAndReused(t *testing.T) {
	// No docker engine for this executor: env list and prune would show and
	// remove every ferry image on this machine's engine too.
	c, logPath := condaCLI(t, "DOCKER_HOST=unix:///nonexistent/ferry-no-docker.sock")
	src := t.TempDir()
	testutil.WriteTree(t, src, testutil.Tree{
		"train.py": condaTrain,
		"env.yml":  "name: one\nchannels: [conda-forge]\ndependencies:\n- python=3.11\n- numpy=1.26\nvariables:\n  MYVAR: hello\n",
		"env2.yml": "name: two\nchannels: [conda-forge]\ndependencies:\n- numpy = 1.26\n- python=3.11\nvariables:\n  MYVAR: hello\n",
		"env3.yml": "channels: [conda-forge]\ndependencies:\n- python=3.11\n- numpy=1.25\n",
	})
	first := c.mustRun(src, "run", "--conda-file", "env.yml", "train.py")
	if !strings.Contains(first.Stdout, "ferry: building conda environment ") || !strings.Contains(first.Stdout, "with micromamba") ||
		!strings.Contains(first.Stdout, "fakeconda: transaction finished") || fakeCalls(t, logPath) != 1 {
		t.Fatalf("first run: calls=%d\n%s\n%s", fakeCalls(t, logPath), first.Stdout, first.Stderr)
	}
	if !strings.Contains(first.Stdout, "myvar=hello") || !strings.Contains(first.Stdout, "conda_prefix="+filepath.Join(c.home, "local")) ||
		!strings.Contains(first.Stdout, "/envs/conda/") {
		t.Fatalf("script did not run in the prefix:\n%s", first.Stdout)
	}
	base := c.mustRun(src, "run", "train.py") // user-managed, for the timing
	second := c.mustRun(src, "run", "--conda-file", "env2.yml", "train.py")
	if fakeCalls(t, logPath) != 1 || !strings.Contains(second.Stdout, "(cached)") || strings.Contains(second.Stdout, "building") {
		t.Fatalf("same spec rebuilt: calls=%d\n%s", fakeCalls(t, logPath), second.Stdout)
	}
	um, cached := prepTime(t, showRun(t, c, src, runID(t, base.Stderr))), prepTime(t, showRun(t, c, src, runID(t, second.Stderr)))
	t.Logf("Queued->Running: user-managed %s, cached conda %s (environment step %s)", um, cached, cached-um)
	if cached-um > 500*time.Millisecond {
		t.Errorf("cached conda environment added %s", cached-um)
	}
	third := c.mustRun(src, "run", "--conda-file", "env3.yml", "train.py")
	if fakeCalls(t, logPath) != 2 || !strings.Contains(third.Stdout, "building conda environment") {
		t.Fatalf("changed pin not rebuilt: calls=%d\n%s", fakeCalls(t, logPath), third.Stdout)
	}
	var envs []map[string]any
	if err := json.Unmarshal([]byte(c.mustRun(src, "env", "list", "--json").Stdout), &envs); err != nil || len(envs) != 2 {
		t.Fatalf("env list: %v %v", envs, err)
	}
	if envs[0]["size"].(float64) <= 0 || envs[0]["kind"] != "conda" || envs[0]["last_used"] == nil {
		t.Fatalf("env list entry: %v", envs[0])
	}
	if out := c.mustRun(src, "env", "list").Stdout; !strings.Contains(out, envs[1]["key"].(string)[:12]) {
		t.Fatalf("env list table:\n%s", out)
	}
	c.mustRun(src, "env", "rm", envs[0]["key"].(string)[:12])
	if err := json.Unmarshal([]byte(c.mustRun(src, "env", "list", "--json").Stdout), &envs); err != nil || len(envs) != 1 {
		t.Fatalf("after rm: %v %v", envs, err)
	}
	if r := c.run(src, "env", "rm", "0123456789ab"); r.Code == 0 {
		t.Fatal("rm of an unknown key succeeded")
	}
	if out := c.mustRun(src, "env", "prune", "--keep", "0").Stdout; !strings.Contains(out, "1 removed") {
		t.Fatalf("prune:\n%s", out)
	}
	c.mustRun(src, "run", "--conda-file", "env.yml", "train.py")
	if fakeCalls(t, logPath) != 3 {
		t.Fatalf("removed environment not rebuilt: calls=%d", fakeCalls(t, logPath))
	}
}

func TestCondaBuildFailure(t *testing.T) {
	c, logPath := condaCLI(t)
	src := t.TempDir()
	testutil.WriteTree(t, src, testutil.Tree{
		"train.py":   condaTrain,
		"bad.yml":    "dependencies:\n- python=3.11\n- fail-me\n",
		"good.yml":   "dependencies:\n- python=3.11\n",
		"broken.yml": "name: x\ndependencies:\n  pip: 3\n",
	})
	r := c.run(src, "run", "--conda-file", "bad.yml", "train.py")
	if r.Code == 0 {
		t.Fatalf("failing build: exit 0\n%s", r.Stdout)
	}
	rec := showRun(t, c, src, runID(t, r.Stderr))
	reason, _ := rec["reason"].(string)
	if rec["status"] != "Failed" || !strings.Contains(reason, "nothing provides requested fail-me") {
		t.Fatalf("status %v reason %q", rec["status"], reason)
	}
	if out := c.mustRun(src, "env", "list", "--json").Stdout; strings.TrimSpace(out) != "[]" {
		t.Fatalf("failed environment listed: %s", out)
	}
	c.mustRun(src, "run", "--conda-file", "good.yml", "train.py")
	if fakeCalls(t, logPath) != 2 {
		t.Fatalf("calls = %d, want 2", fakeCalls(t, logPath))
	}
	// A malformed spec is refused before anything is uploaded, with its line.
	r = c.run(src, "run", "--conda-file", "broken.yml", "train.py")
	if r.Code == 0 || !strings.Contains(r.Stderr, "line ") || strings.Contains(r.Stderr, "ferry: run ") {
		t.Fatalf("malformed spec: exit %d\n%s", r.Code, r.Stderr)
	}
}

func TestCondaConcurrentRunsBuildOnce(t *testing.T) {
	c, logPath := condaCLI(t, "FAKECONDA_DELAY=1.5")
	src := t.TempDir()
	testutil.WriteTree(t, src, testutil.Tree{"train.py": condaTrain, "env.yml": "dependencies:\n- python=3.12\n"})
	c.mustRun(src, "run", "train.py") // start the executor once
	var wg sync.WaitGroup
	outs := make([]result, 2)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = c.run(src, "run", "--conda-file", "env.yml", "train.py")
		}()
	}
	wg.Wait()
	for _, o := range outs {
		if o.Code != 0 || !strings.Contains(o.Stdout, "prefix=") {
			t.Fatalf("run: exit %d\n%s\n%s", o.Code, o.Stdout, o.Stderr)
		}
	}
	if n := fakeCalls(t, logPath); n != 1 {
		t.Fatalf("tool calls = %d, want 1\n%s\n%s", n, outs[0].Stdout, outs[1].Stdout)
	}
}
