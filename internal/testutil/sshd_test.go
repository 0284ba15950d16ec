package testutil

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sshCommand runs OpenSSH's own client against s, strictly checking the
// host key against s.KnownHosts: the harness is checked without ferry code.
func sshCommand(t *testing.T, s *SSHD, remote string) (string, error) {
	t.Helper()
	RequireCommand(t, "ssh")
	out, err := exec.Command("ssh", "-F", "none", "-i", s.KeyFile, "-o", "UserKnownHostsFile="+s.KnownHosts,
		"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
		"-p", strconv.Itoa(s.Port), s.User+"@"+s.Host, remote).CombinedOutput()
	return string(out), err
}

func TestStartSSHD(t *testing.T) {
	tests := []struct {
		name     string
		opts     SSHDOptions
		wantUser string
		wantKeys int
		wantOK   bool
	}{
		{"defaults", SSHDOptions{}, "root", 3, true},
		{"one host key", SSHDOptions{HostKeyTypes: []string{"ecdsa"}}, "root", 1, true},
		{"nothing recorded", SSHDOptions{HostKeyTypes: []string{"ed25519"}, KnownHostKeyTypes: []string{}}, "root", 0, false},
		{"password user", SSHDOptions{HostKeyTypes: []string{"ed25519"}, PasswordAuth: true}, TestUser, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := StartSSHD(t, tt.opts)
			if s.User != tt.wantUser {
				t.Errorf("user %q, want %q", s.User, tt.wantUser)
			}
			kh, err := os.ReadFile(s.KnownHosts)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(kh), "\n"); n != tt.wantKeys {
				t.Errorf("known_hosts has %d lines, want %d", n, tt.wantKeys)
			}
			out, err := sshCommand(t, s, "id -un")
			if ok := err == nil && strings.TrimSpace(out) == tt.wantUser; ok != tt.wantOK {
				t.Fatalf("ssh: %q %v; want success %v", out, err, tt.wantOK)
			}
		})
	}
}

func TestSSHDWaitLogAndOptions(t *testing.T) {
	s := StartSSHD(t, SSHDOptions{HostKeyTypes: []string{"ed25519"}, MaxAuthTries: 2, DisableStreamLocalForwarding: true,
		ExtraConfig: []string{"Banner none"}})
	cfg, err := os.ReadFile(s.Dir + "/sshd_config")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MaxAuthTries 2", "AllowStreamLocalForwarding no", "Banner none", "PidFile none"} {
		if !strings.Contains(string(cfg), want+"\n") {
			t.Errorf("sshd_config lacks %q", want)
		}
	}
	if _, err := sshCommand(t, s, "true"); err != nil {
		t.Fatal(err)
	}
	if !s.WaitLog("Accepted publickey for root", 5*time.Second) {
		t.Errorf("login not in the log:\n%s", s.Log())
	}
	if s.WaitLog("no such line", 50*time.Millisecond) {
		t.Error("WaitLog found a line that was never logged")
	}
}
