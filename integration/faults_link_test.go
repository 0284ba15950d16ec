package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/internal/testutil/fakeconda"
)

// Faults of the link and of the SSH server: each test ends in an honest
// status, loses no byte of the log, and neither hangs nor says something
// unclear.

// faultTarget is a real sshd attached as compute "box", optionally
// through a proxy that the test can freeze.
type faultTarget struct {
	sshd  *testutil.SSHD
	proxy *testutil.Proxy // nil when attached directly
	state string          // the executor's --state-dir on the target
}

// attachFault starts sshd with opts and attaches it as compute "box",
// through a proxy when viaProxy.
func attachFault(t *testing.T, c *cli, opts testutil.SSHDOptions, viaProxy bool) *faultTarget {
	t.Helper()
	ft := &faultTarget{sshd: testutil.StartSSHD(t, opts), state: stateDir(t)}
	port := ft.sshd.Port
	if viaProxy {
		ft.proxy = testutil.StartProxy(t, ft.sshd.Addr, testutil.ProxyOptions{})
		port = ft.proxy.Port()
	}
	c.mustRun("", "compute", "attach", "box", "--address", "127.0.0.1", "--port", strconv.Itoa(port),
		"--username", ft.sshd.User, "--private-key", ft.sshd.KeyFile, "--known-hosts", filepath.Join(shortDir(t), "known_hosts"),
		"--accept-new-host-key", "--state-dir", ft.state)
	return ft
}

// keepaliveBound is how soon a frozen link must be noticed: keepalives
// every 5 s, dead after 10 s without a reply (15 s), plus slack for a
// loaded machine.
const keepaliveBound = 22 * time.Second

// waitStderr waits until the background ferry's stderr holds want.
func waitStderr(t *testing.T, lr *liveRun, want string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !strings.Contains(lr.stderr.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q on stderr after %s; stderr:\n%s", want, limit, lr.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freezeUntilLost freezes the link, waits until ferry says it lost the
// connection, unfreezes it and returns how long the detection took.
func freezeUntilLost(t *testing.T, ft *faultTarget, lr *liveRun) time.Duration {
	t.Helper()
	ft.proxy.Freeze()
	frozen := time.Now()
	waitStderr(t, lr, "connection to box lost; reconnecting", 45*time.Second)
	took := time.Since(frozen)
	ft.proxy.Unfreeze()
	if took > keepaliveBound {
		t.Errorf("frozen link noticed after %s, want within about 15 s", took.Round(time.Millisecond))
	}
	t.Logf("frozen link noticed after %s", took.Round(time.Millisecond))
	return took
}

// TestFaultFrozenLinkLogFollow: the link freezes (no FIN, no RST) while
// ferry logs -f follows a run, with the command's own connection and with
// the keeper's. Keepalives notice it within about 15 s, ferry reconnects,
// and the log goes on from where it stopped: the whole log once, byte for
// byte, and the run's true status.
func TestFaultFrozenLinkLogFollow(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	for _, keeper := range []bool{false, true} {
		t.Run("keeper="+strconv.FormatBool(keeper), func(t *testing.T) {
			c := newCLI(t)
			ft := attachFault(t, c, testutil.SSHDOptions{}, true)
			if keeper {
				withKeeper(c)
			}
			checkFrozenFollow(t, c, ft)
		})
	}
}

func checkFrozenFollow(t *testing.T, c *cli, ft *faultTarget) {
	t.Helper()
	const n = 250 // 0.1 s apart: the run outlives the freeze
	src := sourceDir(t, testutil.Tree{"n.py": numbersScript(n, "0.1")})
	id := runIDOf(t, c.mustRun(src, "run", "--compute", "box", "--detach", "n.py").Stderr)
	lr := c.start(t, t.Context(), src, "logs", "-f", id)
	if line, err := lr.stdout.ReadString('\n'); err != nil || line != "0\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	freezeUntilLost(t, ft, lr)
	rest, code, stderr := lr.wait(t)
	if code != 0 || "0\n"+rest != numbersLog(n) {
		t.Errorf("logs -f across a frozen link: exit %d, log is not the whole log once (%d bytes, want %d)\nstderr:\n%s",
			code, len(rest)+2, len(numbersLog(n)), stderr)
	}
	if !strings.Contains(stderr, "reconnected to box") {
		t.Errorf("no reconnect reported:\n%s", stderr)
	}
	if rec := c.show(id); rec.Status != "Completed" || exitOf(rec) != 0 {
		t.Errorf("show: %s exit %d (%s), want Completed 0", rec.Status, exitOf(rec), rec.Reason)
	}
}

// TestFaultFrozenLinkEnvBuild: the link freezes while the target builds
// the run's conda environment (the fakeconda stand-in, slowed down). The
// build goes on there; ferry run notices the dead link, reconnects,
// prints the rest of the build's and the script's output once, and exits
// with the script's status. The environment is built once.
func TestFaultFrozenLinkEnvBuild(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	calls := filepath.Join(shortDir(t), "fakeconda.log")
	ft := attachFault(t, c, testutil.SSHDOptions{ExtraConfig: []string{
		"SetEnv FERRY_CONDA_TOOL=" + filepath.Join(fakeconda.Dir(), "micromamba") + " FAKECONDA_DELAY=12 FAKECONDA_LOG=" + calls,
	}}, true)
	src := sourceDir(t, testutil.Tree{
		"env.yml":  "name: slow\ndependencies:\n- python=3.11\n",
		"train.py": "import os\nprint('prefix', 'CONDA_PREFIX' in os.environ)\nraise SystemExit(5)\n",
	})
	lr := c.startRun(t, t.Context(), src, "--compute", "box", "--conda-file", "env.yml", "train.py")
	var seen strings.Builder
	for !strings.Contains(seen.String(), "fakeconda: solving environment") {
		line, err := lr.stdout.ReadString('\n')
		seen.WriteString(line)
		if err != nil {
			t.Fatalf("no build output before EOF: %q\nstderr:\n%s", seen.String(), lr.stderr.String())
		}
	}
	freezeUntilLost(t, ft, lr)
	rest, code, stderr := lr.wait(t)
	all := seen.String() + rest
	if code != 5 || strings.Count(all, "fakeconda: solving environment") != 1 || !strings.Contains(rest, "prefix True\n") {
		t.Errorf("ferry run across a frozen build: exit %d, want 5; stdout:\n%s\nstderr:\n%s", code, all, stderr)
	}
	if !strings.Contains(stderr, "reconnected to box") {
		t.Errorf("no reconnect reported:\n%s", stderr)
	}
	if rec := c.show(lr.id); rec.Status != "Failed" || exitOf(rec) != 5 {
		t.Errorf("show: %s exit %d (%s), want Failed 5", rec.Status, exitOf(rec), rec.Reason)
	}
	if n := countLines(t, calls); n != 1 {
		t.Errorf("the environment was built %d times, want once", n)
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// TestFaultNoStreamLocalForwarding: sshd refuses socket forwarding
// (AllowStreamLocalForwarding no). ferry falls back to its stdio proxy
// over an exec session for everything: a followed run, a detached run
// followed by logs -f, and a cancel.
func TestFaultNoStreamLocalForwarding(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	attachFault(t, c, testutil.SSHDOptions{DisableStreamLocalForwarding: true}, false)
	checkRunsWork(t, c)
}

// TestFaultMaxSessionsOne: sshd allows one session per connection
// (MaxSessions 1), with and without socket forwarding, with the command's
// own connection and with the keeper's. The sessions sshd refuses on a
// connection go to spare connections, so syncs, runs, logs and cancels
// all work.
func TestFaultMaxSessionsOne(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	for _, noForward := range []bool{false, true} {
		for _, keeper := range []bool{false, true} {
			t.Run(fmt.Sprintf("no-forwarding=%v/keeper=%v", noForward, keeper), func(t *testing.T) {
				c := newCLI(t)
				attachFault(t, c, testutil.SSHDOptions{MaxSessions: 1, DisableStreamLocalForwarding: noForward}, false)
				if keeper {
					withKeeper(c)
				}
				checkRunsWork(t, c)
			})
		}
	}
}

// checkRunsWork syncs, runs, follows and cancels on compute "box".
func checkRunsWork(t *testing.T, c *cli) {
	t.Helper()
	src := sourceDir(t, testutil.Tree{"a.txt": "x", "t.py": "print('ran', open('a.txt').read())\nraise SystemExit(3)\n",
		"n.py": numbersScript(30, "0.02"), "s.py": "import time\nprint('up', flush=True)\ntime.sleep(120)\n"})
	if res := c.sync("box", src); res.UploadedFiles != 4 {
		t.Errorf("sync: %+v, want 4 files sent", res)
	}
	r := c.run(src, "run", "--compute", "box", "t.py")
	if r.Code != 3 || r.Stdout != "ran x\n" {
		t.Errorf("run: exit %d stdout %q, want 3 and \"ran x\"\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	id := runIDOf(t, c.mustRun(src, "run", "--compute", "box", "--detach", "n.py").Stderr)
	if r := c.run(src, "logs", "-f", id); r.Code != 0 || r.Stdout != numbersLog(30) {
		t.Errorf("logs -f: exit %d stdout %q\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	lr := c.startRun(t, t.Context(), src, "--compute", "box", "s.py")
	if line, err := lr.stdout.ReadString('\n'); err != nil || line != "up\n" {
		t.Fatalf("first line %q, %v\nstderr:\n%s", line, err, lr.stderr.String())
	}
	c.mustRun(src, "cancel", lr.id)
	if _, code, stderr := lr.wait(t); code != 143 {
		t.Errorf("ferry run after cancel: exit %d, want 143\nstderr:\n%s", code, stderr)
	}
	if rec := c.show(lr.id); rec.Status != "Canceled" {
		t.Errorf("canceled run is %s (%s)", rec.Status, rec.Reason)
	}
}
