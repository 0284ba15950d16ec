package transport

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/ssh"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// configThroughProxy starts a real sshd (an ed25519 host key) behind a
// proxy that adds delay each way, and returns a Config reaching it through
// the proxy, its host key known.
func configThroughProxy(tb testing.TB, delay time.Duration) Config {
	s := testutil.StartSSHD(tb, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}})
	proxy := testutil.StartProxy(tb, s.Addr, testutil.ProxyOptions{Delay: delay})
	kh := filepath.Join(tb.TempDir(), "known_hosts")
	line := fmt.Sprintf("[127.0.0.1]:%d %s", proxy.Port(), ssh.MarshalAuthorizedKey(s.HostKeys["ed25519"]))
	if err := os.WriteFile(kh, []byte(line), 0o600); err != nil {
		tb.Fatal(err)
	}
	return Config{Host: s.Host, Port: proxy.Port(), User: s.User, KeyFile: s.KeyFile,
		KnownHostsFiles: []string{kh}, SSHConfigFile: "none", Logger: hclog.NewNullLogger()}
}
