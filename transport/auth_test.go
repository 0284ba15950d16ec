package transport_test

import (
	"bufio"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/transport"
	"github.com/ferry-ml/ferry/transport/transporttest"
)

func TestPasswordAuth(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}, PasswordAuth: true})
	cfg := transporttest.Config(t, s)
	cfg.KeyFile, cfg.Password = filepath.Join(t.TempDir(), "missing-key"), s.Password
	if _, err := transport.Dial(t.Context(), cfg); err == nil || !transport.IsPermanent(err) {
		t.Fatalf("a configured key file that is missing: got %v, want a permanent error", err)
	}
	cfg.KeyFile = ""
	cfg.SSHConfigFile = "none"
	c, err := transport.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("password login as %s: %v", s.User, err)
	}
	defer c.Close()
	res, err := c.Exec(t.Context(), []string{"id", "-un"}, nil)
	if err != nil || strings.TrimSpace(string(res.Stdout)) != testutil.TestUser {
		t.Fatalf("id -un: %q %v", res.Stdout, err)
	}
}

func TestAuthFailures(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}, PasswordAuth: true})
	wrongKey := filepath.Join(t.TempDir(), "wrong")
	testutil.GenerateKey(t, "ed25519", wrongKey, "")
	tests := []struct {
		name, key, password string
		wantOffered         string
	}{
		{"wrong password", "", "not-the-password", "password"},
		{"wrong key", wrongKey, "", "key " + wrongKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := transporttest.Config(t, s)
			cfg.KeyFile, cfg.Password = tt.key, tt.password
			_, err := transport.Dial(t.Context(), cfg)
			var authErr *transport.AuthError
			if !errors.As(err, &authErr) || !transport.IsPermanent(err) {
				t.Fatalf("got %v, want a permanent *AuthError", err)
			}
			if !slices.Contains(authErr.Methods, "publickey") || !slices.Contains(authErr.Methods, "password") {
				t.Errorf("methods %v, want publickey and password", authErr.Methods)
			}
			msg := err.Error()
			t.Logf("error: %s", msg)
			wantPrefix := fmt.Sprintf("%s@127.0.0.1: permission denied (publickey,password)", s.User)
			if !strings.HasPrefix(msg, wantPrefix) || !strings.Contains(msg, tt.wantOffered) || strings.Contains(msg, "not-the-password") {
				t.Errorf("message %q: want prefix %q, mention of %q, and no secret", msg, wantPrefix, tt.wantOffered)
			}
		})
	}
}

func TestEncryptedKey(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}})
	key := filepath.Join(t.TempDir(), "enc")
	testutil.GenerateKey(t, "ed25519", key, "sekrit")
	s.AuthorizeKey(t, key+".pub")
	tests := []struct {
		name       string
		passphrase func() ([]byte, error)
		check      func(error) bool
	}{
		{"no passphrase func", nil, func(err error) bool {
			return errors.Is(err, transport.ErrPassphraseRequired) && strings.Contains(err.Error(), "--passphrase-stdin")
		}},
		{"wrong passphrase", func() ([]byte, error) { return []byte("nope"), nil }, func(err error) bool {
			return err != nil && transport.IsPermanent(err) && strings.Contains(err.Error(), "incorrect passphrase")
		}},
		{"right passphrase", func() ([]byte, error) { return []byte("sekrit"), nil }, func(err error) bool { return err == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := transporttest.Config(t, s)
			cfg.KeyFile, cfg.Passphrase = key, tt.passphrase
			c, err := transport.Dial(t.Context(), cfg)
			if !tt.check(err) {
				t.Fatalf("unexpected result: %v", err)
			}
			if c != nil {
				c.Close()
			}
		})
	}
}

// TestAgentOffersOnlyConfiguredKey: an agent holding 8 keys against a server
// with MaxAuthTries 3 fails when every agent key is offered, and works when
// a key file is configured (IdentitiesOnly-like), even an encrypted one the
// agent holds and no passphrase given (so the agent signs).
func TestAgentOffersOnlyConfiguredKey(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}, MaxAuthTries: 3})
	dir := t.TempDir()
	sock := startAgent(t, filepath.Join(dir, "agent.sock"))
	t.Setenv("SSH_AUTH_SOCK", sock)
	var keys []string
	for i := range 7 {
		k := filepath.Join(dir, fmt.Sprintf("decoy%d", i))
		testutil.GenerateKey(t, "ed25519", k, "")
		keys = append(keys, k)
	}
	enc := filepath.Join(dir, "enc")
	testutil.GenerateKey(t, "ed25519", enc, "agent-holds-it")
	s.AuthorizeKey(t, enc+".pub")
	for _, k := range keys {
		sshAdd(t, sock, k, "")
	}
	sshAdd(t, sock, enc, "agent-holds-it")

	cfg := transporttest.Config(t, s)
	cfg.UseAgent, cfg.KeyFile = true, ""
	_, err := transport.Dial(t.Context(), cfg)
	t.Logf("every agent key offered: %v", err)
	if !errors.As(err, new(*transport.AuthError)) {
		t.Fatalf("all 8 agent keys offered: got %v, want an AuthError (too many authentication failures)", err)
	}
	cfg.KeyFile = enc
	c, err := transport.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("key file held by the agent: %v", err)
	}
	c.Close()
}

func startAgent(t *testing.T, sock string) string {
	t.Helper()
	testutil.RequireCommand(t, "ssh-agent")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// ssh-agent prints its environment once the socket is listening.
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || !strings.Contains(line, sock) {
		t.Fatalf("ssh-agent: %q %v", line, err)
	}
	return sock
}

func sshAdd(t *testing.T, sock, key, passphrase string) {
	t.Helper()
	cmd := exec.Command("ssh-add", key)
	cmd.Env = append(cmd.Environ(), "SSH_AUTH_SOCK="+sock)
	if passphrase != "" {
		// ssh-add reads the passphrase through SSH_ASKPASS when forced.
		askpass := filepath.Join(t.TempDir(), "askpass")
		testutil.WriteTree(t, filepath.Dir(askpass), testutil.Tree{"askpass": "#!/bin/sh\necho " + passphrase + "\n"})
		if err := exec.Command("chmod", "+x", askpass).Run(); err != nil {
			t.Fatal(err)
		}
		cmd.Env = append(cmd.Env, "SSH_ASKPASS="+askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add %s: %v: %s", key, err, out)
	}
}
