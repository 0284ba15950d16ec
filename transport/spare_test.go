package transport_test

import (
	"io"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/transport/transporttest"
)

// TestSessionsBeyondMaxSessions: a server that allows one session per
// connection (MaxSessions 1) still gets an SFTP session and two commands
// at once from one Client: the sessions it refuses go to spare
// connections, and Close ends them all.
func TestSessionsBeyondMaxSessions(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}, MaxSessions: 1})
	c := transporttest.Dial(t, s)
	sc, err := c.SFTP()
	if err != nil {
		t.Fatalf("sftp: %v", err)
	}
	var conns []io.ReadWriteCloser
	for range 2 {
		conn, err := c.StartConn(t.Context(), []string{"cat"})
		if err != nil {
			t.Fatalf("second session beside sftp: %v", err)
		}
		conns = append(conns, conn)
	}
	for i, conn := range conns {
		want := strings.Repeat("x", i+1) + "\n"
		if _, err := io.WriteString(conn, want); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(want))
		if _, err := io.ReadFull(conn, got); err != nil || string(got) != want {
			t.Errorf("session %d echoed %q, %v", i, got, err)
		}
	}
	if _, err := sc.Getwd(); err != nil {
		t.Errorf("sftp beside two commands: %v", err)
	}
	res, err := c.Exec(t.Context(), []string{"echo", "ok"}, nil)
	if err != nil || string(res.Stdout) != "ok\n" {
		t.Errorf("exec beside three sessions: %q, %v", res.Stdout, err)
	}
	for _, conn := range conns {
		conn.Close()
	}
}
