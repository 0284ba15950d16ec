package transport_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/transport"
	"github.com/ferry-ml/ferry/transport/transporttest"
)

// printArgs prints each argument followed by a NUL, so the test can compare
// the remote argv byte for byte.
var printArgs = []string{"sh", "-c", `for a in "$@"; do printf '%s\0' "$a"; done`, "sh"}

var trickyArgs = []string{
	"plain", "with space", "it's", `"double"`, "$HOME", "`id`", "$(id)", "a\nb", "", "tab\there",
	"back\\slash", "*", "~", "A=b", "semi;colon", "&&", "|", "!bang", "#hash", "\x01ctl", "ünï", "--flag=x y",
}

func TestExecArgvRoundTrip(t *testing.T) {
	c := transporttest.Dial(t, testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}}))
	res, err := c.Exec(t.Context(), append(printArgs, trickyArgs...), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(res.Stdout), "\x00"), "\x00")
	if len(got) != len(trickyArgs) {
		t.Fatalf("got %d args %q, want %d", len(got), got, len(trickyArgs))
	}
	for i := range got {
		if got[i] != trickyArgs[i] {
			t.Errorf("arg %d: got %q, want %q", i, got[i], trickyArgs[i])
		}
	}
}

func TestExecStdinStderrAndExitCodes(t *testing.T) {
	c := transporttest.Dial(t, testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}}))
	tests := []struct {
		name       string
		argv       []string
		stdin      io.Reader
		wantOut    string
		wantErrOut string
		wantCode   int
	}{
		{"stdin", []string{"cat"}, strings.NewReader("in\x00put\n"), "in\x00put\n", "", 0},
		{"no stdin", []string{"cat"}, nil, "", "", 0},
		{"exit code", []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, nil, "out\n", "err\n", 3},
		{"not found", []string{"no-such-command-ferry"}, nil, "", "", 127},
		{"signal", []string{"sh", "-c", "kill -TERM $$"}, nil, "", "", 128 + 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Exec(t.Context(), tt.argv, tt.stdin)
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Stdout) != tt.wantOut || res.ExitCode != tt.wantCode {
				t.Errorf("got stdout %q code %d, want %q %d", res.Stdout, res.ExitCode, tt.wantOut, tt.wantCode)
			}
			if tt.wantErrOut != "" && string(res.Stderr) != tt.wantErrOut {
				t.Errorf("got stderr %q, want %q", res.Stderr, tt.wantErrOut)
			}
		})
	}
}

func TestExecContextCancel(t *testing.T) {
	c := transporttest.Dial(t, testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}}))
	ctx, cancel := contextWithTimeout(t, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Exec(ctx, []string{"sleep", "30"}, nil)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("got err %v after %v, want a prompt context error", err, time.Since(start))
	}
	// The connection is still usable afterwards.
	if res, err := c.Exec(t.Context(), []string{"echo", "ok"}, nil); err != nil || string(res.Stdout) != "ok\n" {
		t.Fatalf("exec after cancel: %q %v", res.Stdout, err)
	}
}

func TestDialUnix(t *testing.T) {
	c := transporttest.Dial(t, testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}}))
	sock := filepath.Join(t.TempDir(), "echo.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		io.Copy(conn, conn)
	}()
	conn, err := c.DialUnix(t.Context(), sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	assertEcho(t, conn, "hello over streamlocal")
}

func TestDialUnixErrors(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "listening.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tests := []struct {
		name   string
		forbid bool
		path   string
		want   error
	}{
		{"forwarding forbidden", true, sock, transport.ErrForwardingRefused},
		{"no such socket", false, filepath.Join(t.TempDir(), "missing.sock"), fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}, DisableStreamLocalForwarding: tt.forbid})
			_, err := transporttest.Dial(t, s).DialUnix(t.Context(), tt.path)
			if !errors.Is(err, tt.want) || !errors.As(err, new(*ssh.OpenChannelError)) {
				t.Fatalf("got %v, want %v wrapping the *ssh.OpenChannelError", err, tt.want)
			}
		})
	}
}

func TestStartConn(t *testing.T) {
	c := transporttest.Dial(t, testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}}))
	conn, err := c.StartConn(t.Context(), []string{"cat"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	assertEcho(t, conn, "hello over exec")

	failing, err := c.StartConn(t.Context(), []string{"sh", "-c", "echo bye; echo no executor here >&2; exit 7"})
	if err != nil {
		t.Fatal(err)
	}
	defer failing.Close()
	out, err := io.ReadAll(failing)
	var cmdErr *transport.CommandError
	if string(out) != "bye\n" || !errors.As(err, &cmdErr) || cmdErr.ExitCode != 7 || cmdErr.Stderr != "no executor here" {
		t.Fatalf("got %q, %v; want bye and a CommandError with status 7 and the stderr", out, err)
	}
}

func TestSFTPWriteRead(t *testing.T) {
	c := transporttest.Dial(t, testutil.StartSSHD(t, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}}))
	sc, err := c.SFTP()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := c.SFTP(); again != sc {
		t.Error("SFTP returned a second session")
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	path := filepath.Join(t.TempDir(), "blob")
	f, err := sc.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFrom(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(onDisk, data) {
		t.Fatalf("file on server differs (len %d, err %v)", len(onDisk), err)
	}
	r, err := sc.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	back, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("read back differs (len %d, err %v)", len(back), err)
	}
}

func assertEcho(t *testing.T, conn net.Conn, msg string) {
	t.Helper()
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(conn, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != msg {
		t.Fatalf("echo: got %q, want %q", buf, msg)
	}
}
