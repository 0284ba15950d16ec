package testutil

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// TestUser is the local account StartSSHD creates (idempotently, with
// useradd -m) for password tests, so that root's password is never touched.
// Its password is TestPassword.
const (
	TestUser     = "ferrytest"
	TestPassword = "ferry-test-password"
)

const sshdPath = "/usr/sbin/sshd"

// SSHDOptions configures StartSSHD. The zero value gives a server with
// ed25519, ecdsa and rsa host keys, all recorded in KnownHosts, public key
// auth for root, and stream-local forwarding allowed.
type SSHDOptions struct {
	// HostKeyTypes are the host keys the server has: "ed25519", "ecdsa",
	// "rsa". nil means all three.
	HostKeyTypes []string
	// KnownHostKeyTypes are the host keys written to KnownHosts. nil means
	// all of HostKeyTypes; an empty non-nil slice leaves KnownHosts empty.
	KnownHostKeyTypes []string
	// User is the login user; "" means root (TestUser when PasswordAuth).
	// A user other than root is created with useradd -m if missing.
	User string
	// PasswordAuth enables password authentication; the user's password is
	// set to TestPassword.
	PasswordAuth bool
	// DisableStreamLocalForwarding sets AllowStreamLocalForwarding no.
	DisableStreamLocalForwarding bool
	// NoSFTP leaves out the "Subsystem sftp" line: the server has no SFTP.
	NoSFTP bool
	// MaxAuthTries sets sshd's MaxAuthTries when > 0.
	MaxAuthTries int
	// MaxSessions sets sshd's MaxSessions (sessions per connection) when
	// > 0; the default is 100.
	MaxSessions int
	// ExtraConfig lines are appended to sshd_config. sshd keeps the first
	// value of a keyword, so they cannot change one set above.
	ExtraConfig []string
}

// SSHD is a running OpenSSH server on 127.0.0.1, stopped at test cleanup.
// A transport.Config for it is {Host: Host, Port: Port, User: User,
// KeyFile: KeyFile, KnownHostsFiles: []string{KnownHosts},
// SSHConfigFile: "none"}; transporttest.Config builds it.
type SSHD struct {
	Addr         string                   // "127.0.0.1:port"
	Host         string                   // "127.0.0.1"
	Port         int                      // the listening port
	User         string                   // the login user
	Password     string                   // TestPassword when PasswordAuth, else ""
	KeyFile      string                   // unencrypted ed25519 user key, in authorized_keys
	KnownHosts   string                   // known_hosts with the recorded host keys
	HostKeys     map[string]ssh.PublicKey // "ed25519"/"ecdsa"/"rsa" → host public key
	HostKeyFiles map[string]string        // same keys → host private key file (with .pub beside)
	Dir          string                   // holds the config, keys and files above

	logMu   sync.Mutex
	logCond *sync.Cond
	log     strings.Builder
	logDone bool
}

// StartSSHD starts a real sshd (sshd -D -e) as root on a free port with
// generated keys. It skips (or fails, under FERRY_TEST_DISALLOW_SKIP) when
// not root or when sshd is missing and cannot be installed.
func StartSSHD(t testing.TB, opts SSHDOptions) *SSHD {
	t.Helper()
	requireSSHD(t)
	s := &SSHD{Host: "127.0.0.1", User: loginUser(opts), HostKeys: map[string]ssh.PublicKey{}, HostKeyFiles: map[string]string{}}
	s.logCond = sync.NewCond(&s.logMu)
	s.Dir = sshdDir(t)
	if s.User != "root" {
		ensureUser(t, s.User)
	}
	if opts.PasswordAuth {
		if s.User == "root" {
			t.Fatal("StartSSHD: PasswordAuth would change root's password; leave User empty to use TestUser")
		}
		s.Password = TestPassword
		setPassword(t, s.User, TestPassword)
	}
	s.generateKeys(t, opts)
	var lastErr error
	for range 5 { // a free port can be taken between probe and bind
		s.Port = freePort(t)
		s.Addr = net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
		if lastErr = s.start(t, opts); lastErr == nil {
			s.writeKnownHosts(t, opts)
			return s
		}
	}
	t.Fatalf("start sshd: %v\n%s", lastErr, s.Log())
	return nil
}

// Log returns sshd's log output so far.
func (s *SSHD) Log() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

// WaitLog waits until sshd's log contains substr, up to timeout, and
// reports whether it did.
func (s *SSHD) WaitLog(substr string, timeout time.Duration) bool {
	timer := time.AfterFunc(timeout, func() {
		s.logMu.Lock()
		s.logDone = true
		s.logMu.Unlock()
		s.logCond.Broadcast()
	})
	defer timer.Stop()
	s.logMu.Lock()
	defer s.logMu.Unlock()
	for !strings.Contains(s.log.String(), substr) {
		if s.logDone {
			return false
		}
		s.logCond.Wait()
	}
	return true
}

func loginUser(opts SSHDOptions) string {
	switch {
	case opts.User != "":
		return opts.User
	case opts.PasswordAuth:
		return TestUser
	}
	return "root"
}

func requireSSHD(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, "sshd tests need root (sshd privilege separation)")
	}
	if _, err := os.Stat(sshdPath); err != nil {
		out, err := exec.Command("apt-get", "install", "-y", "openssh-server").CombinedOutput()
		if err != nil {
			SkipOrFail(t, fmt.Sprintf("%s missing and apt-get install openssh-server failed: %v: %s", sshdPath, err, out))
		}
	}
	RequireCommand(t, "ssh-keygen")
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("create privilege separation dir: %v", err)
	}
}

// sshdDir is world-traversable (unlike t.TempDir's parents) so a non-root
// login user can read authorized_keys.
func sshdDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "ferry-sshd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func (s *SSHD) generateKeys(t testing.TB, opts SSHDOptions) {
	t.Helper()
	types := opts.HostKeyTypes
	if types == nil {
		types = []string{"ed25519", "ecdsa", "rsa"}
	}
	for _, typ := range types {
		path := filepath.Join(s.Dir, "ssh_host_"+typ+"_key")
		s.HostKeys[typ] = GenerateKey(t, typ, path, "")
		s.HostKeyFiles[typ] = path
	}
	s.KeyFile = filepath.Join(s.Dir, "id_ed25519")
	GenerateKey(t, "ed25519", s.KeyFile, "")
	s.AuthorizeKey(t, s.KeyFile+".pub")
}

// AuthorizeKey appends the public key file pubFile to authorized_keys.
func (s *SSHD) AuthorizeKey(t testing.TB, pubFile string) {
	t.Helper()
	pub, err := os.ReadFile(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, "authorized_keys"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(pub); err != nil {
		t.Fatal(err)
	}
}

// GenerateKey runs ssh-keygen to write a private key of typ ("ed25519",
// "ecdsa", "rsa") to path and its public key to path+".pub", encrypted
// with passphrase when it is not empty, and returns the public key.
func GenerateKey(t testing.TB, typ, path, passphrase string) ssh.PublicKey {
	t.Helper()
	args := []string{"-q", "-t", typ, "-N", passphrase, "-C", "ferry-test", "-f", path}
	if typ == "rsa" {
		args = append(args, "-b", "2048") // fast enough for tests
	}
	if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen %s: %v: %s", typ, err, out)
	}
	data, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		t.Fatalf("parse %s.pub: %v", path, err)
	}
	return pub
}

func (s *SSHD) writeKnownHosts(t testing.TB, opts SSHDOptions) {
	t.Helper()
	types := opts.KnownHostKeyTypes
	if types == nil {
		types = opts.HostKeyTypes
	}
	if types == nil {
		types = []string{"ed25519", "ecdsa", "rsa"}
	}
	var b strings.Builder
	for _, typ := range types {
		key, ok := s.HostKeys[typ]
		if !ok {
			t.Fatalf("known host key type %q is not one of the server's host keys", typ)
		}
		fmt.Fprintf(&b, "[%s]:%d %s", s.Host, s.Port, ssh.MarshalAuthorizedKey(key))
	}
	s.KnownHosts = filepath.Join(s.Dir, "known_hosts")
	if err := os.WriteFile(s.KnownHosts, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (s *SSHD) config(opts SSHDOptions) string {
	yesNo := map[bool]string{true: "yes", false: "no"}
	lines := []string{
		"Port " + strconv.Itoa(s.Port), "ListenAddress " + s.Host, "PidFile none", "UsePAM no", "StrictModes no",
		"AuthorizedKeysFile " + filepath.Join(s.Dir, "authorized_keys"), "PermitRootLogin yes",
		"PubkeyAuthentication yes", "PasswordAuthentication " + yesNo[opts.PasswordAuth],
		"KbdInteractiveAuthentication no", "AllowTcpForwarding yes",
		"AllowStreamLocalForwarding " + yesNo[!opts.DisableStreamLocalForwarding],
		"UseDNS no", "PrintMotd no", "MaxSessions " + strconv.Itoa(cmp.Or(opts.MaxSessions, 100)), "MaxStartups 100:30:200", "LogLevel VERBOSE",
	}
	if !opts.NoSFTP {
		lines = append(lines, "Subsystem sftp /usr/lib/openssh/sftp-server")
	}
	for _, typ := range sortedKeys(s.HostKeyFiles) {
		lines = append(lines, "HostKey "+s.HostKeyFiles[typ])
	}
	if opts.MaxAuthTries > 0 {
		lines = append(lines, "MaxAuthTries "+strconv.Itoa(opts.MaxAuthTries))
	}
	return strings.Join(append(lines, opts.ExtraConfig...), "\n") + "\n"
}

// start runs sshd and waits for "Server listening", or for it to exit.
func (s *SSHD) start(t testing.TB, opts SSHDOptions) error {
	cfg := filepath.Join(s.Dir, "sshd_config")
	if err := os.WriteFile(cfg, []byte(s.config(opts)), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", cfg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	ready := make(chan bool, 1)
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		s.readLog(stderr, ready)
	}()
	if !<-ready {
		<-logged
		cmd.Wait()
		return fmt.Errorf("sshd exited before listening")
	}
	t.Cleanup(func() { s.stop(t, cmd, logged) })
	return nil
}

// readLog copies sshd's stderr into the log and signals ready (true once
// sshd listens, false if it exits first).
func (s *SSHD) readLog(r io.Reader, ready chan<- bool) {
	sent := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		s.logMu.Lock()
		s.log.WriteString(sc.Text() + "\n")
		s.logMu.Unlock()
		s.logCond.Broadcast()
		if !sent && strings.Contains(sc.Text(), "Server listening on") {
			ready <- true
			sent = true
		}
	}
	if !sent {
		ready <- false
	}
}

func (s *SSHD) stop(t testing.TB, cmd *exec.Cmd, logged <-chan struct{}) {
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	cmd.Wait()
	<-logged
	if t.Failed() {
		t.Logf("sshd log (%s):\n%s", s.Addr, s.Log())
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ensureUser creates user with a home directory if missing. It also sets
// the password: with UsePAM no, sshd refuses even key logins to accounts
// whose password is locked, as useradd leaves it.
func ensureUser(t testing.TB, user string) {
	t.Helper()
	if exec.Command("id", "-u", user).Run() != nil {
		out, err := exec.Command("useradd", "-m", "-s", "/bin/sh", user).CombinedOutput()
		if err != nil && exec.Command("id", "-u", user).Run() != nil { // another test may have won the race
			t.Fatalf("useradd %s: %v: %s", user, err, out)
		}
	}
	setPassword(t, user, TestPassword)
}

// setPassword sets user's password with chpasswd.
func setPassword(t testing.TB, user, password string) {
	t.Helper()
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader(user + ":" + password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd %s: %v: %s", user, err, out)
	}
}
