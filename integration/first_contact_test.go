package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// TestNoSFTPSubsystem: a target whose sshd has no SFTP subsystem serves
// every step: first contact (the executor's install), sync, a run, its
// outputs and a second run on the installed executor, with and without
// socket forwarding. The install shows a phase line with the size that
// travels, then how long it took; a warm run shows neither.
func TestNoSFTPSubsystem(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	for _, tc := range []struct {
		name     string
		noSocket bool
	}{{"forwarding", false}, {"proxy", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := testutil.StartSSHD(t, testutil.SSHDOptions{NoSFTP: true, DisableStreamLocalForwarding: tc.noSocket})
			c := newCLI(t)
			c.attachSSHD("nosftp", s, "--no-check")
			src := shortDir(t)
			testutil.WriteTree(t, src, testutil.Tree{"a.txt": "x",
				"t.py": "import os\nprint('ran', open('a.txt').read())\nopen(os.path.join(os.environ['FERRY_OUTPUTS_DIR'], 'o.txt'), 'w').write('out')\n"})
			r := c.mustRun("", "run", "--compute", "nosftp", "--source", src, "t.py")
			if !strings.Contains(r.Stdout, "ran x") {
				t.Fatalf("first run printed %q; stderr:\n%s", r.Stdout, r.Stderr)
			}
			if !strings.Contains(r.Stderr, "ferry: installing executor ") || !strings.Contains(r.Stderr, " on nosftp (") ||
				!strings.Contains(r.Stderr, "iB, sent zstd-compressed)...") || !strings.Contains(r.Stderr, "ferry: installed executor on nosftp in ") ||
				!strings.Contains(r.Stderr, "iB sent)\n") {
				t.Errorf("first contact: no install phase lines in stderr:\n%s", r.Stderr)
			}
			id := runIDOf(t, r.Stderr)
			to := t.TempDir()
			c.mustRun("", "download", id, "--to", to)
			if b, err := os.ReadFile(filepath.Join(to, "o.txt")); err != nil || string(b) != "out" {
				t.Errorf("downloaded o.txt: %q, %v", b, err)
			}
			testutil.WriteTree(t, src, testutil.Tree{"a.txt": "y"})
			if res := c.sync("nosftp", src); res.UploadedFiles != 1 {
				t.Errorf("sync of one changed file: %+v", res)
			}
			r = c.mustRun("", "run", "--compute", "nosftp", "--source", src, "t.py")
			if !strings.Contains(r.Stdout, "ran y") || strings.Contains(r.Stderr, "installing executor") {
				t.Errorf("second run: stdout %q, stderr:\n%s", r.Stdout, r.Stderr)
			}
			if strings.Contains(s.Log(), "subsystem request for sftp") {
				t.Errorf("ferry asked for the sftp subsystem:\n%s", s.Log())
			}
		})
	}
}

// TestFirstContactAsksNoPlan: the executor that first contact starts says
// its store is empty, and that sync sends every file without asking the
// target what it lacks. The next sync asks (and sends the one changed
// file), and so does another home's first sync to the same target, whose
// store now holds everything (nothing is sent).
func TestFirstContactAsksNoPlan(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	st := stateDir(t)
	attach := func(c *cli) {
		c.mustRun("", "compute", "attach", "t", "--address", s.Host, "--port", strconv.Itoa(s.Port),
			"--username", s.User, "--private-key", s.KeyFile, "--known-hosts", s.KnownHosts, "--state-dir", st)
	}
	c := newCLI(t)
	c.env = append(c.env, "FERRY_LOG_LEVEL=trace")
	attach(c)
	src := shortDir(t)
	testutil.WriteTree(t, src, testutil.Tree{"a.py": "print(1)\n", "b.py": "print(2)\n", "d/c.csv": "1,2\n"})
	const planPath = `"path":"/v1/sync/plan"`
	syncLogged := func(c *cli) (syncResult, string) {
		r := c.mustRun("", "sync", "--compute", "t", "--source", src, "--json", "--log-json")
		return decodeSync(t, r.Stdout), r.Stderr
	}
	res, log := syncLogged(c)
	if !strings.Contains(log, "installing executor") {
		t.Fatalf("the first sync did not install the executor:\n%s", log)
	}
	if strings.Contains(log, planPath) || res.UploadedFiles != 3 {
		t.Errorf("first contact asked for a plan or did not send all 3 files (%+v):\n%s", res, log)
	}
	// The install measured the link, for the compression of that first sync.
	if !strings.Contains(log, `"install rate"`) {
		t.Errorf("first contact did not take the install's rate:\n%s", log)
	}
	testutil.WriteTree(t, src, testutil.Tree{"b.py": "print(3)\n"})
	if res, log = syncLogged(c); !strings.Contains(log, planPath) || res.UploadedFiles != 1 {
		t.Errorf("second sync: want a plan and 1 file sent, got %+v:\n%s", res, log)
	}
	other := newCLI(t)
	other.env = append(other.env, "FERRY_LOG_LEVEL=trace")
	attach(other)
	if res, log = syncLogged(other); !strings.Contains(log, planPath) || res.UploadedFiles != 0 {
		t.Errorf("another home's first sync to a store holding everything: want a plan and nothing sent, got %+v:\n%s", res, log)
	}
}
