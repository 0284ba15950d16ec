package transporttest

import (
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/transport"
)

// Config returns a transport.Config for s: its address, user, key file and
// known_hosts, no ssh config file, no agent, and a trace logger writing to
// the test's output.
func Config(t testing.TB, s *testutil.SSHD) transport.Config {
	return transport.Config{
		Host: s.Host, Port: s.Port, User: s.User, KeyFile: s.KeyFile,
		KnownHostsFiles: []string{s.KnownHosts}, SSHConfigFile: "none",
		Logger: hclog.New(&hclog.LoggerOptions{Name: "transport", Output: t.Output(), Level: hclog.Trace}),
	}
}

// Dial connects to s with Config(t, s), fails the test on error, and closes
// the client at cleanup.
func Dial(t testing.TB, s *testutil.SSHD) *transport.Client {
	t.Helper()
	c, err := transport.Dial(t.Context(), Config(t, s))
	if err != nil {
		t.Fatalf("dial %s: %v", s.Addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
