package transport_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/transport"
	"github.com/ferry-ml/ferry/transport/transporttest"
)

func TestSSHConfigAlias(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}})
	home := t.TempDir()
	t.Setenv("HOME", home)
	key, _ := os.ReadFile(s.KeyFile)
	testutil.WriteTree(t, home, testutil.Tree{
		".ssh/id_target": string(key),
		".ssh/config": "Host other\n  Port 1\n" +
			"Host ferry-* !ferry-excluded\n  HostName 127.0.0.1\n  Port " + itoa(s.Port) + "\n  User " + s.User + "\n" +
			"  IdentityFile ~/.ssh/id_target\n  UserKnownHostsFile " + s.KnownHosts + "\n" +
			"Host *\n  Port 2\n  User nobody\n",
	})
	if err := os.Chmod(filepath.Join(home, ".ssh/id_target"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := transport.Config{Host: "ferry-target", Logger: transporttest.Config(t, s).Logger}
	c, err := transport.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("dial alias: %v", err)
	}
	defer c.Close()
	if res, err := c.Exec(t.Context(), []string{"id", "-un"}, nil); err != nil || strings.TrimSpace(string(res.Stdout)) != s.User {
		t.Fatalf("id -un: %q %v", res.Stdout, err)
	}

	cfg.Port = 1 // explicit fields win over the ssh config
	cfg.ConnectTimeout = 2 * time.Second
	if _, err := transport.Dial(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("explicit port 1: got %v, want a dial error to 127.0.0.1:1", err)
	}
	if _, err := transport.Dial(t.Context(), transport.Config{Host: "ferry-excluded", ConnectTimeout: 2 * time.Second}); err == nil || transport.IsPermanent(err) {
		t.Fatalf("negated alias: got %v, want a retryable dial error (no such host or port 2)", err)
	}
}

func TestProxyJump(t *testing.T) {
	jump := testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}})
	target := testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ecdsa"}})
	dir := t.TempDir()
	testutil.WriteTree(t, dir, testutil.Tree{"config": "Host jumpbox\n  HostName 127.0.0.1\n  Port " + itoa(jump.Port) +
		"\n  IdentityFile " + jump.KeyFile + "\n" +
		"Host behind\n  HostName 127.0.0.1\n  Port " + itoa(target.Port) + "\n  ProxyJump root@jumpbox\n  IdentityFile " + target.KeyFile + "\n"})
	cfg := transporttest.Config(t, target)
	cfg.Host, cfg.Port, cfg.KeyFile, cfg.SSHConfigFile = "behind", 0, "", filepath.Join(dir, "config")
	cfg.KnownHostsFiles = []string{target.KnownHosts, jump.KnownHosts}
	c, err := transport.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("dial through jump host: %v", err)
	}
	defer c.Close()
	if !jump.WaitLog("Accepted publickey for root", 5*time.Second) {
		t.Fatal("the jump host saw no login")
	}
	if res, err := c.Exec(t.Context(), []string{"echo", "behind"}, nil); err != nil || string(res.Stdout) != "behind\n" {
		t.Fatalf("exec through jump: %q %v", res.Stdout, err)
	}

	cfg.KnownHostsFiles = []string{target.KnownHosts} // the jump host's key is unknown
	_, err = transport.Dial(t.Context(), cfg)
	var unknown *transport.HostKeyUnknownError
	if !errors.As(err, &unknown) || unknown.Host != "[127.0.0.1]:"+itoa(jump.Port) {
		t.Fatalf("got %v, want the jump host's key reported unknown", err)
	}
}

// TestProxyJumpEncryptedKeyAsksOnce: one encrypted key, not in an agent,
// logs in to the jump host and to the target: the passphrase is read once
// (a second read fails, as --passphrase-stdin's would), also on a second
// Dial (a reconnect).
func TestProxyJumpEncryptedKeyAsksOnce(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "")
	jump := testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}})
	target := testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}})
	dir := t.TempDir()
	key := filepath.Join(dir, "enc")
	testutil.GenerateKey(t, "ed25519", key, "sekrit")
	jump.AuthorizeKey(t, key+".pub")
	target.AuthorizeKey(t, key+".pub")
	testutil.WriteTree(t, dir, testutil.Tree{"config": "Host jumpbox\n  HostName 127.0.0.1\n  Port " + itoa(jump.Port) +
		"\n  IdentityFile " + key + "\n" +
		"Host behind\n  HostName 127.0.0.1\n  Port " + itoa(target.Port) + "\n  ProxyJump root@jumpbox\n  IdentityFile " + key + "\n"})
	reads := 0
	cfg := transporttest.Config(t, target)
	cfg.Host, cfg.Port, cfg.KeyFile, cfg.SSHConfigFile = "behind", 0, "", filepath.Join(dir, "config")
	cfg.KnownHostsFiles = []string{target.KnownHosts, jump.KnownHosts}
	cfg.UseAgent = false
	cfg.Passphrase = func() ([]byte, error) {
		if reads++; reads > 1 {
			return nil, errors.New("stdin already read")
		}
		return []byte("sekrit"), nil
	}
	for i := range 2 {
		c, err := transport.Dial(t.Context(), cfg)
		if err != nil {
			t.Fatalf("dial %d through the jump host: %v (passphrase read %d times)", i+1, err, reads)
		}
		c.Close()
	}
	if reads != 1 {
		t.Fatalf("passphrase read %d times, want once", reads)
	}
}
