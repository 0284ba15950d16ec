package transport_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/transport"
	"github.com/ferry-ml/ferry/transport/transporttest"
)

// TestKeepaliveDetectsFrozenPeer freezes the connection (a dead peer, no
// FIN, no RST) while Exec is blocked; the keepalive must close the
// connection, and every blocked or later call must fail, within
// interval + 2*interval.
func TestKeepaliveDetectsFrozenPeer(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}})
	proxy := testutil.StartProxy(t, s.Addr, testutil.ProxyOptions{})
	cfg := transporttest.Config(t, s)
	cfg.Port = proxy.Port()
	cfg.KnownHostsFiles = []string{filepath.Join(t.TempDir(), "known_hosts")}
	line := fmt.Sprintf("[127.0.0.1]:%d %s", proxy.Port(), ssh.MarshalAuthorizedKey(s.HostKeys["ed25519"]))
	if err := os.WriteFile(cfg.KnownHostsFiles[0], []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.KeepaliveInterval = 300 * time.Millisecond
	c, err := transport.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sftpClient, err := c.SFTP()
	if err != nil {
		t.Fatal(err)
	}
	execDone := make(chan error, 1)
	go func() {
		_, err := c.Exec(t.Context(), []string{"sleep", "60"}, nil)
		execDone <- err
	}()
	if !s.WaitLog("Starting session: command", 10*time.Second) {
		t.Fatal("the command never started")
	}
	select {
	case <-c.Done():
		t.Fatal("Done closed on a live connection")
	default:
	}
	frozenAt := time.Now()
	proxy.Freeze()

	select {
	case err := <-execDone:
		elapsed := time.Since(frozenAt)
		if !errors.Is(err, transport.ErrConnLost) || transport.IsPermanent(err) {
			t.Fatalf("blocked exec: got %v, want a retryable ErrConnLost", err)
		}
		if limit := 3*cfg.KeepaliveInterval + 3*time.Second; elapsed > limit {
			t.Errorf("detected after %v, want within %v", elapsed, limit)
		}
		t.Logf("dead peer detected %v after the freeze: %v", elapsed, err)
	case <-time.After(15 * time.Second):
		t.Fatal("exec still blocked 15 s after the freeze")
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Error("Done still open after the keepalive found the peer dead")
	}
	if _, err := sftpClient.Getwd(); err == nil {
		t.Error("sftp call succeeded on a dead connection")
	}
	if _, err := c.Exec(t.Context(), []string{"true"}, nil); !errors.Is(err, transport.ErrConnLost) {
		t.Errorf("exec after detection: got %v, want ErrConnLost", err)
	}
}
