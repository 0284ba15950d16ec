package transport

import (
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// TestAnswerAfterUploadNotHeldByNagle: over channels to a unix socket on a
// real sshd (loopback), the answer to a request that followed 1 MiB of
// upload arrives within milliseconds once the connection's background
// session has turned sshd's Nagle off; without it, sshd holds the answer
// behind its window adjust until the client's delayed ACK (logged below).
func TestAnswerAfterUploadNotHeldByNagle(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}})
	sock := filepath.Join(t.TempDir(), "s.sock")
	const size = 1 << 20
	serveAfter(t, sock, size)
	cfg := Config{Host: s.Host, Port: s.Port, User: s.User, KeyFile: s.KeyFile,
		KnownHostsFiles: []string{s.KnownHosts}, SSHConfigFile: "none", Logger: hclog.NewNullLogger()}
	answer := func() time.Duration {
		c, err := Dial(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		best := time.Hour
		for range 6 { // the fastest: the first runs before the session has started
			conn, err := c.DialUnix(t.Context(), sock)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Write(make([]byte, size)); err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			if _, err := io.ReadFull(conn, make([]byte, 2)); err != nil {
				t.Fatal(err)
			}
			best = min(best, time.Since(sent))
			conn.Close()
		}
		return best
	}
	noNoDelay.Store(true)
	without := answer()
	noNoDelay.Store(false)
	with := answer()
	t.Logf("answer after 1 MiB up: %v (%v without the session)", with, without)
	if with >= 25*time.Millisecond {
		t.Fatalf("the answer came %v after the upload's last byte, want under 25 ms (%v without the session)", with, without)
	}
	if !s.WaitLog("Starting session: command", 5*time.Second) {
		t.Errorf("no session was started:\n%s", s.Log())
	}
}

// serveAfter answers "ok" on each connection to sock once it has read n bytes.
func serveAfter(t *testing.T, sock string, n int64) {
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				if _, err := io.CopyN(io.Discard, conn, n); err == nil {
					conn.Write([]byte("ok"))
				}
			}()
		}
	}()
}
