package transport_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/transport"
	"github.com/ferry-ml/ferry/transport/transporttest"
)

func TestUnknownHostKeyRefusedThenAccepted(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{KnownHostKeyTypes: []string{}})
	cfg := transporttest.Config(t, s)
	cfg.KnownHostsFiles = []string{filepath.Join(t.TempDir(), "new", ".ssh", "known_hosts")} // missing file and dirs

	_, err := transport.Dial(t.Context(), cfg)
	var unknown *transport.HostKeyUnknownError
	if !errors.As(err, &unknown) || !transport.IsPermanent(err) {
		t.Fatalf("got %v, want a permanent *HostKeyUnknownError", err)
	}
	if unknown.KeyType != ssh.KeyAlgoED25519 {
		t.Errorf("server presented %s, want ssh-ed25519 (OpenSSH's preference)", unknown.KeyType)
	}
	if want := keygenFingerprint(t, s.HostKeyFiles["ed25519"]+".pub"); unknown.Fingerprint != want {
		t.Errorf("fingerprint %s, ssh-keygen -lf says %s", unknown.Fingerprint, want)
	}
	t.Logf("error: %v", err)
	if !strings.Contains(err.Error(), unknown.Fingerprint) {
		t.Errorf("message %q lacks the fingerprint", err)
	}

	cfg.AcceptNewHostKey = true
	c, err := transport.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.HostKeyFingerprint() != unknown.Fingerprint {
		t.Errorf("connected with %s, want %s", c.HostKeyFingerprint(), unknown.Fingerprint)
	}
	c.Close()
	assertFileMode(t, cfg.KnownHostsFiles[0], 0o600)
	assertFileMode(t, filepath.Dir(cfg.KnownHostsFiles[0]), 0o700|os.ModeDir)
	recorded, _ := os.ReadFile(cfg.KnownHostsFiles[0])
	if want := "[127.0.0.1]:" + itoa(s.Port) + " ssh-ed25519 "; !strings.HasPrefix(string(recorded), want) {
		t.Errorf("known_hosts holds %q, want a plain line starting %q", recorded, want)
	}

	cfg.AcceptNewHostKey = false
	c, err = transport.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("dial after recording the key: %v", err)
	}
	c.Close()
}

func TestUnknownHostKeyAcceptedOnlyWithConfirmedFingerprint(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{KnownHostKeyTypes: []string{}})
	cfg := transporttest.Config(t, s)
	cfg.KnownHostsFiles = []string{filepath.Join(t.TempDir(), "known_hosts")}
	want := keygenFingerprint(t, s.HostKeyFiles["ed25519"]+".pub")

	cfg.AcceptHostKeyFingerprint = "SHA256:not-the-servers-key"
	var unknown *transport.HostKeyUnknownError
	if _, err := transport.Dial(t.Context(), cfg); !errors.As(err, &unknown) {
		t.Fatalf("another fingerprint confirmed: got %v, want *HostKeyUnknownError", err)
	}
	if _, err := os.Stat(cfg.KnownHostsFiles[0]); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("known_hosts written for an unconfirmed key: %v", err)
	}
	cfg.AcceptHostKeyFingerprint = want
	c, err := transport.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("confirmed fingerprint: %v", err)
	}
	c.Close()
	cfg.AcceptHostKeyFingerprint = ""
	c, err = transport.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("dial after recording the confirmed key: %v", err)
	}
	c.Close()
}

func TestChangedHostKeyRefused(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}})
	other := testutil.GenerateKey(t, "ed25519", filepath.Join(t.TempDir(), "other"), "")
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := "# a comment\n[127.0.0.1]:" + itoa(s.Port) + " " + string(ssh.MarshalAuthorizedKey(other))
	if err := os.WriteFile(kh, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, acceptNew := range []bool{false, true} {
		cfg := transporttest.Config(t, s)
		cfg.KnownHostsFiles, cfg.AcceptNewHostKey = []string{kh}, acceptNew
		_, err := transport.Dial(t.Context(), cfg)
		var changed *transport.HostKeyChangedError
		if !errors.As(err, &changed) || !transport.IsPermanent(err) {
			t.Fatalf("accept-new %v: got %v, want a permanent *HostKeyChangedError", acceptNew, err)
		}
		want := transport.HostKeyChangedError{Host: "[127.0.0.1]:" + itoa(s.Port), KeyType: ssh.KeyAlgoED25519,
			Fingerprint: ssh.FingerprintSHA256(s.HostKeys["ed25519"]), KnownHostsFile: kh, Line: 2}
		if *changed != want {
			t.Errorf("got %+v, want %+v", *changed, want)
		}
	}
	if data, _ := os.ReadFile(kh); string(data) != line {
		t.Errorf("known_hosts was modified: %q", data)
	}
}

// TestHostKeyAlgorithmsFollowKnownHosts: the server has all three key
// types; whichever one known_hosts records must be the one negotiated
// (x/crypto's own order would pick RSA or ECDSA and report a mismatch).
func TestHostKeyAlgorithmsFollowKnownHosts(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		t.Run(typ+" recorded", func(t *testing.T) {
			kh := filepath.Join(t.TempDir(), "known_hosts")
			line := "[127.0.0.1]:" + itoa(s.Port) + " " + string(ssh.MarshalAuthorizedKey(s.HostKeys[typ]))
			if err := os.WriteFile(kh, []byte(line), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := transporttest.Config(t, s)
			cfg.KnownHostsFiles = []string{kh}
			c, err := transport.Dial(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if want := ssh.FingerprintSHA256(s.HostKeys[typ]); c.HostKeyFingerprint() != want {
				t.Errorf("verified %s, want the recorded %s key %s", c.HostKeyFingerprint(), typ, want)
			}
		})
	}
}

func TestHashedKnownHosts(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}})
	if out, err := exec.Command("ssh-keygen", "-H", "-f", s.KnownHosts).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -H: %v: %s", err, out)
	}
	if data, _ := os.ReadFile(s.KnownHosts); !strings.HasPrefix(string(data), "|1|") {
		t.Fatalf("known_hosts not hashed: %q", data)
	}
	transporttest.Dial(t, s)
}

func keygenFingerprint(t *testing.T, pubFile string) string {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-lf", pubFile).Output()
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(out))
	if len(fields) < 2 {
		t.Fatalf("ssh-keygen -lf output %q", out)
	}
	return fields[1]
}

func assertFileMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode() & (os.ModePerm | os.ModeDir); got != want {
		t.Errorf("%s: mode %v, want %v", path, got, want)
	}
}
