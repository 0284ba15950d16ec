package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// withKeeper turns the keeper on for c's commands (the harness turns it
// off) and stops it at cleanup, before the sshd it holds connections to.
func withKeeper(c *cli) {
	c.env = append(c.env, "FERRY_NO_KEEPER=", "FERRY_KEEPER_IDLE=2m")
	c.t.Cleanup(func() { c.run("", "keeper", "stop") })
}

// keeperFiles returns the keeper's socket, failing when there is not one.
func keeperSocket(t *testing.T, home string) string {
	t.Helper()
	socks, _ := filepath.Glob(filepath.Join(home, "keeper", "*.sock"))
	if len(socks) != 1 {
		t.Fatalf("keeper sockets: %v, want one", socks)
	}
	return socks[0]
}

// TestKeeperKeepsTheConnection: two syncs through the ferry binary use one
// SSH connection, held by the keeper, and the first (first contact: the
// executor installed) one remote process; the keeper's socket is private; a connection
// that the server dropped, and a keeper that was killed, are replaced
// without the commands noticing.
func TestKeeperKeepsTheConnection(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	c := newCLI(t)
	c.attachSSHD("k", s)
	withKeeper(c)
	src := shortDir(t)
	testutil.WriteTree(t, src, testutil.Tree{"a.py": "print(1)\n"})

	accepted := func() int { return strings.Count(s.Log(), "Accepted publickey") - 1 } // less attach's
	sessions := func() int { return strings.Count(s.Log(), "Starting session: command") }
	before := sessions()
	first := c.sync("k", src)
	n1 := accepted()
	if n := sessions() - before; n != 1 {
		t.Errorf("first contact started %d remote processes, want 1 (ensure, which installs the executor it lacks)", n)
	}
	os.WriteFile(filepath.Join(src, "b.py"), []byte("print(2)\n"), 0o644)
	second := c.sync("k", src)
	if second.UploadedFiles != 1 || first.Snapshot == second.Snapshot {
		t.Errorf("second sync uploaded %d files (snapshot %s after %s), want the one new file", second.UploadedFiles, second.Snapshot, first.Snapshot)
	}
	if n2 := accepted(); n1 != 1 || n2 != 1 {
		t.Errorf("sshd accepted %d connections after the first sync and %d after the second, want 1 and 1", n1, n2)
	}
	sock := keeperSocket(t, c.home)
	checkMode(t, filepath.Dir(sock), 0o700|os.ModeDir)
	checkMode(t, sock, 0o600|os.ModeSocket)

	// The server drops the connection (its per-connection sshd is killed).
	killSessionProcesses(t, s)
	c.sync("k", src)
	if n := accepted(); n != 2 {
		t.Errorf("after the connection was dropped sshd accepted %d connections in all, want 2", n)
	}

	// The keeper is killed: the next command starts another.
	pid := keeperPID(t, sock)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	os.WriteFile(filepath.Join(src, "c.py"), []byte("print(3)\n"), 0o644)
	if r := c.sync("k", src); r.UploadedFiles != 1 {
		t.Errorf("sync after the keeper was killed uploaded %d files, want 1", r.UploadedFiles)
	}
	if p := keeperPID(t, keeperSocket(t, c.home)); p == pid {
		t.Errorf("the killed keeper %d still answers", pid)
	}
	if n := accepted(); n != 3 {
		t.Errorf("after the keeper was killed sshd accepted %d connections in all, want 3", n)
	}
}

// TestKeeperOptOut: with --no-keeper every command dials itself and no
// keeper is started.
func TestKeeperOptOut(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	c := newCLI(t)
	c.attachSSHD("k", s)
	src := shortDir(t)
	testutil.WriteTree(t, src, testutil.Tree{"a.py": "print(1)\n"})
	c.mustRun("", "--no-keeper", "sync", "--compute", "k", "--source", src)
	c.mustRun("", "--no-keeper", "sync", "--compute", "k", "--source", src)
	if n := strings.Count(s.Log(), "Accepted publickey") - 1; n != 2 { // less attach's
		t.Errorf("sshd accepted %d connections for two syncs without a keeper, want 2", n)
	}
	if socks, _ := filepath.Glob(filepath.Join(c.home, "keeper", "*.sock")); len(socks) != 0 {
		t.Errorf("a keeper was started: %v", socks)
	}
}

// keeperPID finds the process listening on the keeper's socket: the
// "ferry keeper serve" whose FERRY_HOME holds sock.
func keeperPID(t *testing.T, sock string) int {
	t.Helper()
	home := filepath.Dir(filepath.Dir(sock))
	for _, p := range procs(t) {
		cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "cmdline"))
		env, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "environ"))
		if strings.Contains(string(cmdline), "keeper\x00serve") && strings.Contains(string(env), "FERRY_HOME="+home+"\x00") {
			return p
		}
	}
	t.Fatalf("no keeper process for %s", home)
	return 0
}

// killSessionProcesses kills every process serving s's connections (the
// descendants of its listener), as a server reboot would.
func killSessionProcesses(t *testing.T, s *testutil.SSHD) {
	t.Helper()
	parent := map[int]int{}
	var mentions []int // processes whose command line names s's folder
	for _, p := range procs(t) {
		stat, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "stat"))
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 2 {
			continue
		}
		parent[p], _ = strconv.Atoi(f[1])
		cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "cmdline"))
		if strings.Contains(string(cmdline), s.Dir) {
			mentions = append(mentions, p)
		}
	}
	// The listener (sshd rewrites its command line, so match loosely) is
	// the one whose parent does not name the folder too.
	listener := 0
	for _, p := range mentions {
		if !slices.Contains(mentions, parent[p]) {
			listener = p
		}
	}
	killed := 0
	for p := range parent {
		for a := parent[p]; a > 1; a = parent[a] {
			if a == listener {
				syscall.Kill(p, syscall.SIGKILL)
				killed++
				break
			}
		}
	}
	if listener == 0 || killed == 0 {
		t.Fatalf("found no session process of sshd %d to kill", listener)
	}
}

func procs(t *testing.T) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range ents {
		if p, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
