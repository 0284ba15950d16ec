package engine

import (
	"strings"
	"testing"
)

func TestSplitRef(t *testing.T) {
	tests := []struct{ ref, name, tag string }{
		{"ubuntu", "ubuntu", "latest"},
		{"ubuntu:22.04", "ubuntu", "22.04"},
		{"registry:5000/team/img", "registry:5000/team/img", "latest"},
		{"registry:5000/team/img:v1", "registry:5000/team/img", "v1"},
		{"img@sha256:abcd", "img", "sha256:abcd"},
	}
	for _, tt := range tests {
		if name, tag := splitRef(tt.ref); name != tt.name || tag != tt.tag {
			t.Errorf("splitRef(%q) = %q, %q; want %q, %q", tt.ref, name, tag, tt.name, tt.tag)
		}
	}
}

func TestVersionLess(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"1.41", "1.51", true},
		{"1.51", "1.41", false},
		{"1.9", "1.41", true},
		{"1.41", "1.41", false},
		{"1.41", "1.41.1", true},
		{"2.0", "1.99", false},
	}
	for _, tt := range tests {
		if got := versionLess(tt.a, tt.b); got != tt.want {
			t.Errorf("versionLess(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

func TestNewHosts(t *testing.T) {
	tests := []struct {
		host, base, err string
	}{
		{"", "http://docker", ""},
		{"unix:///run/user/1000/docker.sock", "http://docker", ""},
		{"tcp://10.0.0.5:2375", "http://10.0.0.5:2375", ""},
		{"tcp://10.0.0.5", "http://10.0.0.5:2375", ""},
		{"ssh://me@host", "", `scheme "ssh" not supported`},
		{"unix://", "", "no socket path"},
	}
	for _, tt := range tests {
		c, err := New(Config{Host: tt.host})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("New(%q) = %v, want an error with %q", tt.host, err, tt.err)
			}
			continue
		}
		if err != nil || c.base != tt.base {
			t.Errorf("New(%q): base %q, %v; want %q", tt.host, c.base, err, tt.base)
		}
	}
	if _, err := New(Config{Host: "tcp://10.0.0.5", CertPath: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "ca.pem") {
		t.Errorf("New over TLS without ca.pem = %v, want an error naming ca.pem", err)
	}
}
