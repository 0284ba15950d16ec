package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// checkResult is the JSON of `ferry compute check --json`.
type checkResult struct {
	Name  string `json:"name"`
	Facts struct {
		OS         string `json:"os"`
		Arch       string `json:"arch"`
		Python     string `json:"python"`
		DiskFreeKB string `json:"disk_free_kb"`
	} `json:"facts"`
}

// TestComputeCheck checks what `compute check --json` reports about the
// container target and about local.
func TestComputeCheck(t *testing.T) {
	ct := testutil.StartContainerTarget(t, testutil.ContainerOptions{})
	c := newCLI(t)
	c.attachContainer("box", ct)
	for _, name := range []string{"box", "local"} {
		r := c.mustRun("", "compute", "check", name, "--json")
		var res checkResult
		if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
			t.Fatalf("check %s --json: %v\n%s", name, err, r.Stdout)
		}
		f := res.Facts
		free, _ := strconv.ParseInt(f.DiskFreeKB, 10, 64)
		if res.Name != name || f.Arch != "x86_64" || !strings.HasPrefix(f.Python, "Python 3") || free <= 0 {
			t.Errorf("check %s: %+v", name, res)
		}
		if name == "box" && !strings.Contains(f.OS, "Debian") {
			t.Errorf("check box: os %q, want Debian", f.OS)
		}
	}
}

// TestRemoteRun runs scripts on the container target: the exit code comes
// back, outputs come back, logs can be read afterwards, and a run survives
// its SSH connection being cut.
func TestRemoteRun(t *testing.T) {
	ct := testutil.StartContainerTarget(t, testutil.ContainerOptions{})
	proxy := testutil.StartProxy(t, ct.Addr(), testutil.ProxyOptions{})
	c := newCLI(t)
	kh := filepath.Join(shortDir(t), "known_hosts")
	c.mustRun("", "compute", "attach", "box", "--address", "127.0.0.1", "--port", strconv.Itoa(proxy.Port()),
		"--username", ct.User, "--private-key", ct.KeyFile, "--known-hosts", kh, "--accept-new-host-key")
	src := shortDir(t)
	testutil.WriteTree(t, src, testutil.Tree{
		"fail.py": "import os, sys\nopen(os.path.join(os.environ['FERRY_OUTPUTS_DIR'], 'model.txt'), 'w').write('weights')\nprint('about to fail')\nsys.exit(3)\n",
		"slow.py": "import sys, time\nfor i in range(40):\n    print('line', i, flush=True)\n    time.sleep(0.1)\nprint('done')\n",
	})

	r := c.run("", "run", "--compute", "box", "--source", src, "fail.py")
	if r.Code != 3 || !strings.Contains(r.Stdout, "about to fail") {
		t.Fatalf("run fail.py: exit %d, want 3\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	id := newestRunID(t, c)
	if logs := c.mustRun("", "logs", id); !strings.Contains(logs.Stdout, "about to fail") {
		t.Errorf("ferry logs %s after the fact: %q", id, logs.Stdout)
	}
	// The outputs came back with the run: download needs no connection.
	proxy.DropAfter(0)
	to := shortDir(t)
	c.mustRun("", "download", id, "--to", to)
	proxy.DropAfter(-1)
	if b, err := os.ReadFile(filepath.Join(to, "model.txt")); err != nil || string(b) != "weights" {
		t.Errorf("downloaded outputs: %q, %v", b, err)
	}
	var show struct {
		Status   string `json:"status"`
		ExitCode *int   `json:"exit_code"`
	}
	if err := json.Unmarshal([]byte(c.mustRun("", "show", id, "--json").Stdout), &show); err != nil ||
		show.Status != "Failed" || show.ExitCode == nil || *show.ExitCode != 3 {
		t.Errorf("show %s: %+v, %v", id, show, err)
	}

	t.Run("survives a cut connection", func(t *testing.T) {
		r := c.mustRun("", "run", "--compute", "box", "--source", src, "--detach", "--json", "slow.py")
		var det struct{ ID string }
		if err := json.Unmarshal([]byte(r.Stdout), &det); err != nil || det.ID == "" {
			t.Fatalf("run --detach --json: %v\n%s", err, r.Stdout)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		follow := c.command(ctx, "", "logs", "-f", det.ID)
		out, err := follow.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := follow.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1)
		if _, err := out.Read(buf); err != nil { // the log is flowing
			t.Fatal(err)
		}
		proxy.DropAll()
		follow.Wait() // the cut follower may fail; the run must not
		f := c.mustRun("", "logs", "-f", det.ID)
		if !strings.Contains(f.Stdout, "line 39\ndone") || !strings.HasPrefix(f.Stdout, "line 0\n") {
			t.Errorf("log after the cut:\n%s", f.Stdout)
		}
	})
}

// newestRunID returns the newest run's id from `ferry runs --json`.
func newestRunID(t *testing.T, c *cli) string {
	t.Helper()
	var runs []struct{ ID string }
	r := c.mustRun("", "runs", "--json")
	if err := json.Unmarshal([]byte(r.Stdout), &runs); err != nil || len(runs) == 0 {
		t.Fatalf("runs --json: %v\n%s", err, r.Stdout)
	}
	return runs[0].ID
}
