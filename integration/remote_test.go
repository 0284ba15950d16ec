package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
	"golang.org/x/crypto/ssh"
)

// TestComputeRegistry attaches, lists, shows and detaches targets, one of
// them with a password that must never appear in any output or log.
func TestComputeRegistry(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{PasswordAuth: true})
	c := newCLI(t)
	c.env = append(c.env, "FERRY_LOG_LEVEL=trace")
	pwState := stateDir(t)
	// The login user is not root: it may make its state directory here, and
	// the sticky bit keeps the folder as safe as /tmp (see agent/safepath.go).
	if err := os.Chmod(pwState, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder // every output, searched for the password
	record := func(r result) result { all.WriteString(r.Stdout + r.Stderr); return r }

	attach := record(c.runStdin(s.Password+"\n", "compute", "attach", "pw", "--address", s.Host,
		"--port", strconv.Itoa(s.Port), "--username", s.User, "--password-stdin",
		"--known-hosts", s.KnownHosts, "--state-dir", filepath.Join(pwState, "s")))
	if attach.Code != 0 {
		t.Fatalf("attach with a password: exit %d\n%s", attach.Code, attach.Stderr)
	}
	if !strings.Contains(attach.Stdout+attach.Stderr, "ssh-keygen") {
		t.Errorf("attach with a password does not recommend keys:\n%s%s", attach.Stdout, attach.Stderr)
	}
	keyed := testutil.StartSSHD(t, testutil.SSHDOptions{})
	c.attachSSHD("k", keyed)

	var list []map[string]any
	r := record(c.mustRun("", "compute", "list", "--json"))
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil {
		t.Fatalf("list --json: %v\n%s", err, r.Stdout)
	}
	if len(list) != 3 || list[0]["name"] != "local" {
		t.Errorf("list --json = %s, want local first, then k and pw", r.Stdout)
	}
	var show map[string]any
	r = record(c.mustRun("", "compute", "show", "pw", "--json"))
	if err := json.Unmarshal([]byte(r.Stdout), &show); err != nil || show["name"] != "pw" {
		t.Fatalf("show --json: %v\n%s", err, r.Stdout)
	}
	record(c.mustRun("", "compute", "show", "pw"))
	record(c.mustRun("", "compute", "list"))
	record(c.mustRun("", "compute", "check", "pw", "--json"))
	src := shortDir(t)
	testutil.WriteTree(t, src, testutil.Tree{"a.txt": "a"})
	record(c.mustRun("", "sync", "--compute", "pw", "--source", src))
	if strings.Contains(all.String(), s.Password) {
		t.Errorf("the password appears in ferry's output or log")
	}
	if len(all.String()) < 1000 {
		t.Errorf("expected trace logs, got only %d bytes of output", all.Len())
	}
	checkMode(t, filepath.Join(c.home, "targets"), 0o700|os.ModeDir)
	checkMode(t, filepath.Join(c.home, "targets", "pw.json"), 0o600)
	checkMode(t, filepath.Join(c.home, "targets", "k.json"), 0o600)

	c.mustRun("", "compute", "detach", "pw")
	if r := c.run("", "compute", "show", "pw"); r.Code != 1 || !strings.Contains(r.Stderr, "unknown compute target") {
		t.Errorf("show after detach: exit %d\n%s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(c.home, "targets", "pw.json")); !os.IsNotExist(err) {
		t.Errorf("detach left the target file: %v", err)
	}

	t.Run("wrong password", func(t *testing.T) {
		r := c.runStdin("not-the-password\n", "compute", "attach", "pw2", "--address", s.Host,
			"--port", strconv.Itoa(s.Port), "--username", s.User, "--password-stdin", "--known-hosts", s.KnownHosts)
		checkAuthError(t, r)
	})
	t.Run("wrong key", func(t *testing.T) {
		other := filepath.Join(shortDir(t), "id")
		testutil.GenerateKey(t, "ed25519", other, "")
		r := c.run("", "compute", "attach", "k2", "--address", keyed.Host, "--port", strconv.Itoa(keyed.Port),
			"--username", "root", "--private-key", other, "--known-hosts", keyed.KnownHosts)
		checkAuthError(t, r)
	})
}

func checkAuthError(t *testing.T, r result) {
	t.Helper()
	if r.Code != 1 || !strings.Contains(strings.ToLower(r.Stderr), "auth") || !strings.Contains(r.Stderr, "hint:") {
		t.Errorf("bad credentials: exit %d, want 1 and a clear authentication error\n%s", r.Code, r.Stderr)
	}
	if strings.Count(r.Stderr, "\n") > 4 {
		t.Errorf("authentication error is not short:\n%s", r.Stderr)
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != want {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
	}
}

// runStdin is run with stdin.
func (c *cli) runStdin(stdin string, args ...string) result {
	c.t.Helper()
	return c.runWith("", strings.NewReader(stdin), args...)
}

// TestHostKeys checks host keys through the CLI: an unknown host is
// refused with its fingerprint, recorded with --accept-new-host-key, and a
// changed key is refused even then.
func TestHostKeys(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	c := newCLI(t)
	kh := filepath.Join(shortDir(t), "known_hosts")
	attach := func(name string, extra ...string) result {
		return c.run("", append([]string{"compute", "attach", name, "--address", s.Host, "--port", strconv.Itoa(s.Port),
			"--username", "root", "--private-key", s.KeyFile, "--known-hosts", kh, "--state-dir", stateDir(t)}, extra...)...)
	}
	r := attach("h")
	if r.Code != 1 || !strings.Contains(r.Stderr, "--accept-new-host-key") {
		t.Fatalf("unknown host: exit %d, want 1 and a hint naming --accept-new-host-key\n%s", r.Code, r.Stderr)
	}
	found := false
	for typ, f := range s.HostKeyFiles {
		out, err := exec.Command("ssh-keygen", "-lf", f+".pub").Output()
		if err != nil {
			t.Fatal(err)
		}
		if fp := strings.Fields(string(out))[1]; strings.Contains(r.Stderr, fp) {
			found = true
			t.Logf("refused with the %s key's fingerprint %s", typ, fp)
		}
	}
	if !found {
		t.Errorf("refusal shows no host key fingerprint that ssh-keygen -lf gives:\n%s", r.Stderr)
	}
	if b, _ := os.ReadFile(kh); len(b) != 0 {
		t.Errorf("refused host key was saved:\n%s", b)
	}
	if r := c.run("", "compute", "show", "h"); r.Code == 0 {
		t.Errorf("refused target was registered")
	}

	c.mustRun("", "compute", "attach", "h", "--address", s.Host, "--port", strconv.Itoa(s.Port),
		"--username", "root", "--private-key", s.KeyFile, "--known-hosts", kh, "--state-dir", stateDir(t), "--accept-new-host-key")
	b, err := os.ReadFile(kh)
	if err != nil || !strings.Contains(string(b), "[127.0.0.1]:"+strconv.Itoa(s.Port)) {
		t.Fatalf("accepted host key not recorded: %v\n%s", err, b)
	}
	c.mustRun("", "compute", "check", "h")

	// Every key type the server has, replaced by another key of that type:
	// whatever algorithm is negotiated, the key no longer matches.
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		t.Run("changed "+typ, func(t *testing.T) {
			other := testutil.GenerateKey(t, typ, filepath.Join(shortDir(t), "k"), "")
			line := "[127.0.0.1]:" + strconv.Itoa(s.Port) + " " + string(ssh.MarshalAuthorizedKey(other))
			if err := os.WriteFile(kh, []byte(line), 0o600); err != nil {
				t.Fatal(err)
			}
			r := attach("h2-"+typ, "--accept-new-host-key")
			if r.Code != 1 || !strings.Contains(r.Stderr, "CHANGED") {
				t.Errorf("changed %s host key: exit %d, want 1 and a loud warning\n%s", typ, r.Code, r.Stderr)
			}
			if b, _ := os.ReadFile(kh); string(b) != line {
				t.Errorf("known_hosts changed after a refused key:\n%s", b)
			}
			if r := c.run("", "compute", "check", "h"); r.Code != 1 || !strings.Contains(r.Stderr, "CHANGED") {
				t.Errorf("check with a changed %s host key: exit %d\n%s", typ, r.Code, r.Stderr)
			}
		})
	}
}

// TestSSHConfigAlias attaches a target by its ~/.ssh/config alias alone.
func TestSSHConfigAlias(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	c := newCLI(t)
	cfg := filepath.Join(shortDir(t), "config")
	testutil.WriteTree(t, filepath.Dir(cfg), testutil.Tree{"config": "Host myalias\n  HostName 127.0.0.1\n  Port " +
		strconv.Itoa(s.Port) + "\n  User root\n  IdentityFile " + s.KeyFile + "\n  UserKnownHostsFile " + s.KnownHosts + "\n"})
	c.env = append(c.env, "FERRY_SSH_CONFIG="+cfg)
	c.mustRun("", "compute", "attach", "al", "--address", "myalias", "--state-dir", stateDir(t))
	c.mustRun("", "compute", "check", "al")
	src := shortDir(t)
	testutil.WriteTree(t, src, testutil.Tree{"a.txt": "alias"})
	if res := c.sync("al", src); res.UploadedFiles != 1 {
		t.Errorf("sync through an alias: %+v", res)
	}
}

// TestSSHAgentManyKeys offers only the chosen key even when ssh-agent
// holds more keys than the server's MaxAuthTries.
func TestSSHAgentManyKeys(t *testing.T) {
	testutil.RequireCommand(t, "ssh-agent")
	testutil.RequireCommand(t, "ssh-add")
	s := testutil.StartSSHD(t, testutil.SSHDOptions{MaxAuthTries: 3})
	dir := shortDir(t)
	sock := filepath.Join(dir, "agent.sock")
	out, err := exec.Command("ssh-agent", "-s", "-a", sock).Output()
	if err != nil {
		t.Fatalf("ssh-agent: %v", err)
	}
	pid := agentPID(t, string(out))
	t.Cleanup(func() { exec.Command("kill", strconv.Itoa(pid)).Run() })
	for i := range 8 {
		k := filepath.Join(dir, "k"+strconv.Itoa(i))
		testutil.GenerateKey(t, "ed25519", k, "")
		sshAdd(t, sock, k, "")
	}
	c := newCLI(t)
	c.env = append(c.env, "SSH_AUTH_SOCK="+sock)
	c.attachSSHD("ag", s)
	c.mustRun("", "compute", "check", "ag")

	// An encrypted key whose decrypted copy is in the agent, last: ferry
	// signs with the agent's copy and asks for no passphrase.
	enc := filepath.Join(dir, "enc")
	testutil.GenerateKey(t, "ed25519", enc, "secret phrase")
	s.AuthorizeKey(t, enc+".pub")
	sshAdd(t, sock, enc, "secret phrase")
	c.mustRun("", "compute", "attach", "enc", "--address", s.Host, "--port", strconv.Itoa(s.Port),
		"--username", s.User, "--private-key", enc, "--known-hosts", s.KnownHosts, "--state-dir", stateDir(t))
}

// sshAdd adds key to the agent at sock, answering its passphrase prompt
// through SSH_ASKPASS.
func sshAdd(t *testing.T, sock, key, passphrase string) {
	t.Helper()
	askpass := filepath.Join(filepath.Dir(key), "askpass.sh")
	if err := os.WriteFile(askpass, []byte("#!/bin/sh\necho '"+passphrase+"'\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	add := exec.Command("ssh-add", "-q", key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock, "SSH_ASKPASS="+askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0")
	add.Stdin = nil
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v: %s", err, out)
	}
}

func agentPID(t *testing.T, out string) int {
	t.Helper()
	_, rest, ok := strings.Cut(out, "SSH_AGENT_PID=")
	if !ok {
		t.Fatalf("no SSH_AGENT_PID in %q", out)
	}
	n, err := strconv.Atoi(strings.TrimRight(strings.Fields(rest)[0], ";"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNoSocketForwarding syncs and runs on a server that forbids
// stream-local forwarding: ferry goes through its proxy command.
func TestNoSocketForwarding(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	s := testutil.StartSSHD(t, testutil.SSHDOptions{DisableStreamLocalForwarding: true})
	c := newCLI(t)
	c.attachSSHD("nf", s)
	src := shortDir(t)
	testutil.WriteTree(t, src, testutil.Tree{"a.txt": "x", "t.py": "print('ran', open('a.txt').read())\n"})
	if res := c.sync("nf", src); res.UploadedFiles != 2 {
		t.Errorf("sync without socket forwarding: %+v", res)
	}
	r := c.mustRun("", "run", "--compute", "nf", "--source", src, "t.py")
	if !strings.Contains(r.Stdout, "ran x") {
		t.Errorf("run without socket forwarding printed %q", r.Stdout)
	}
}
