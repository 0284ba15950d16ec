package transport

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

func TestReadSSHConfig(t *testing.T) {
	home := t.TempDir()
	testutil.WriteTree(t, home, testutil.Tree{
		".ssh/config": `# comment
User globaluser
Host gpu gpu-? !gpu-x
  HostName %h.example.com
  Port=2200
  IdentityFile ~/.ssh/id_gpu
  IdentityFile ~/.ssh/id_second
Host *.lan "quoted host"
  ProxyJump bastion,inner
  UserKnownHostsFile ~/.ssh/kh1 /etc/kh2
Match exec "false"
  Port 9
Include conf.d/*.conf
Host *
  HostName fallback
  Port 22
  User lastuser
`,
		".ssh/conf.d/a.conf": "Host gpu-1\n  User includeduser\n  Port 1\n",
	})
	cfg := filepath.Join(home, ".ssh", "config")
	tests := []struct {
		host string
		want hostSettings
	}{
		{"gpu", hostSettings{HostName: "%h.example.com", User: "globaluser", Port: "2200",
			IdentityFiles: []string{"~/.ssh/id_gpu", "~/.ssh/id_second"}}},
		{"GPU-1", hostSettings{HostName: "%h.example.com", User: "globaluser", Port: "2200",
			IdentityFiles: []string{"~/.ssh/id_gpu", "~/.ssh/id_second"}}},
		{"gpu-x", hostSettings{HostName: "fallback", User: "globaluser", Port: "22"}},
		{"box.lan", hostSettings{HostName: "fallback", User: "globaluser", Port: "22", ProxyJump: "bastion,inner",
			UserKnownHostsFile: []string{"~/.ssh/kh1", "/etc/kh2"}}},
		{"quoted host", hostSettings{HostName: "fallback", User: "globaluser", Port: "22", ProxyJump: "bastion,inner",
			UserKnownHostsFile: []string{"~/.ssh/kh1", "/etc/kh2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got, err := readSSHConfig(cfg, tt.host, home)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if got, err := readSSHConfig(filepath.Join(home, "missing"), "x", home); err != nil || !reflect.DeepEqual(got, hostSettings{}) {
		t.Errorf("missing file: %+v %v", got, err)
	}
}

func TestIncludeAppliesWhenOnlyInclude(t *testing.T) {
	home := t.TempDir()
	testutil.WriteTree(t, home, testutil.Tree{
		".ssh/config":        "Include conf.d/*.conf\n",
		".ssh/conf.d/a.conf": "Host gpu-1\n  User includeduser\n  Port 1\n",
	})
	got, err := readSSHConfig(filepath.Join(home, ".ssh", "config"), "gpu-1", home)
	if err != nil || got.User != "includeduser" || got.Port != "1" {
		t.Fatalf("got %+v %v", got, err)
	}
}

func TestResolveTokensAndDefaults(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	testutil.WriteTree(t, home, testutil.Tree{
		".ssh/config": "Host box\n  HostName %h.example.com\n  User alice\n  IdentityFile ~/.ssh/id_%r_%h\n",
		".ssh/id_rsa": "default key",
	})
	tg, err := resolve(Config{Host: "box"})
	if err != nil {
		t.Fatal(err)
	}
	want := &target{alias: "box", host: "box.example.com", port: 22, user: "alice",
		keyFiles: []string{filepath.Join(home, ".ssh", "id_alice_box.example.com")}, keyExplicit: true,
		knownHosts: []string{filepath.Join(home, ".ssh", "known_hosts")}, globalKnown: []string{"/etc/ssh/ssh_known_hosts"},
		connectTimeout: DefaultConnectTimeout, keepalive: DefaultKeepaliveInterval}
	if !reflect.DeepEqual(tg, want) {
		t.Errorf("got  %+v\nwant %+v", tg, want)
	}
	if tg, err = resolve(Config{Host: "carol@box", SSHConfigFile: "none"}); err != nil || tg.user != "carol" || tg.host != "box" {
		t.Errorf("user@host: got %+v %v", tg, err)
	}
	tg, err = resolve(Config{Host: "other", User: "bob", Port: 2222, KnownHostsFiles: []string{"/kh"}})
	if err != nil {
		t.Fatal(err)
	}
	if tg.hostPort() != "other:2222" || tg.user != "bob" || tg.keyExplicit || !reflect.DeepEqual(tg.keyFiles, []string{filepath.Join(home, ".ssh", "id_rsa")}) || tg.knownHosts[0] != "/kh" {
		t.Errorf("explicit fields: got %+v", tg)
	}
}

func TestParseJumpHost(t *testing.T) {
	tests := []struct {
		in         string
		user, host string
		port       int
	}{
		{"bastion", "", "bastion", 0},
		{"me@bastion:2200", "me", "bastion", 2200},
		{"ssh://me@[::1]:22", "me", "::1", 22},
		{"a@b@host", "a@b", "host", 0},
	}
	for _, tt := range tests {
		u, h, p, err := parseJumpHost(tt.in)
		if err != nil || u != tt.user || h != tt.host || p != tt.port {
			t.Errorf("%q: got %q %q %d %v", tt.in, u, h, p, err)
		}
	}
}

// TestQuoteArgsAgainstShell uses the local /bin/sh as the oracle.
func TestQuoteArgsAgainstShell(t *testing.T) {
	args := []string{"", " ", "'", "''", `\'`, "a'b'c", "$x", "${x}", "`x`", "a\nb\n", "~", "~root", "A=1", "*.go",
		"[a]", "{a,b}", "\\", "\t", "#", "-n", "-e", "%s", "ü", "\x7f", "!", "a=b=c", "@", "--x=y"}
	script := `for a in "$@"; do printf '%s\0' "$a"; done`
	out, err := exec.Command("/bin/sh", "-c", QuoteArgs(append([]string{"sh", "-c", script, "sh"}, args...))).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if !reflect.DeepEqual(got, args) {
		t.Errorf("got  %q\nwant %q", got, args)
	}
	if q := QuoteArgs([]string{"ls", "-la", "/tmp/x.y", "it's"}); q != `ls -la /tmp/x.y 'it'\''s'` {
		t.Errorf("QuoteArgs = %s", q)
	}
}

func TestDefaultKeepaliveDetectsDeadPeerWithin15s(t *testing.T) {
	if worst := DefaultKeepaliveInterval + keepaliveTimeout(DefaultKeepaliveInterval); worst > 15*time.Second {
		t.Fatalf("a dead peer is detected only after %v", worst)
	}
}

func TestAppendKnownHostKeepsContentAndMode(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(f, []byte("old line without newline"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := appendKnownHost(f, "new line"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(f)
	st, _ := os.Stat(f)
	if string(data) != "old line without newline\nnew line\n" || st.Mode().Perm() != 0o644 {
		t.Fatalf("got %q mode %v", data, st.Mode())
	}
}
