package keeper

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/transport"
	"github.com/ferry-ml/ferry/transport/transporttest"
	"github.com/hashicorp/go-hclog"
)

// started is a keeper serving on a short socket path, stopped at cleanup.
type started struct {
	srv    *Server
	sock   string
	dials  atomic.Int32
	served chan error
}

func startKeeper(t *testing.T, idle time.Duration) *started {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "kt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	st := &started{sock: filepath.Join(dir, "k", "s.sock"), served: make(chan error, 1)}
	ln, err := Listen(st.sock)
	if err != nil {
		t.Fatal(err)
	}
	st.srv = NewServer(idle, hclog.New(&hclog.LoggerOptions{Output: t.Output(), Level: hclog.Trace}))
	st.srv.dial = func(ctx context.Context, cfg transport.Config) (*transport.Client, error) {
		st.dials.Add(1)
		return transport.Dial(ctx, cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { st.served <- st.srv.Serve(ctx, ln); ln.Close() }()
	t.Cleanup(func() {
		cancel()
		<-st.served
	})
	return st
}

func (st *started) client() *Client { return &Client{Socket: st.sock} }

// echoSocket listens on a unix socket on this machine (the sshd's target)
// and echoes every line it reads, upper-cased.
func echoSocket(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "ke")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := filepath.Join(dir, "echo.sock")
	ln, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					io.WriteString(c, strings.ToUpper(sc.Text())+"\n")
				}
			}()
		}
	}()
	return p
}

func TestKeeperReusesOneConnection(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	st := startKeeper(t, time.Minute)
	k := st.client()
	tgt := TargetOf(transporttest.Config(t, s))
	ctx := t.Context()

	w, err := k.Watch(ctx, tgt)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sock := echoSocket(t)
	for i := 0; i < 3; i++ {
		c, err := k.DialUnix(ctx, tgt, sock)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "hello\n")
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || line != "HELLO\n" {
			t.Fatalf("echo through the keeper = %q, %v", line, err)
		}
	}
	res, err := k.Exec(ctx, tgt, []string{"sh", "-c", `cat; echo err >&2; exit 3`}, strings.NewReader("in put"))
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "in put" || string(res.Stderr) != "err\n" || res.ExitCode != 3 {
		t.Errorf("exec = %q %q %d, want stdin echoed, err, 3", res.Stdout, res.Stderr, res.ExitCode)
	}
	if n := st.dials.Load(); n != 1 {
		t.Errorf("keeper dialled %d times for a watch, 3 streams and an exec, want 1", n)
	}
	if n := strings.Count(s.Log(), "Accepted publickey"); n != 1 {
		t.Errorf("sshd accepted %d connections, want 1", n)
	}
}

func TestKeeperErrorsMatchTransport(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	st := startKeeper(t, time.Minute)
	k := st.client()
	cfg := transporttest.Config(t, s)
	_, err := k.DialUnix(t.Context(), TargetOf(cfg), "/nonexistent/ferry.sock")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing socket: %v, want fs.ErrNotExist", err)
	}
	// A host not in known_hosts: the keeper never accepts its key; the
	// command must dial itself (and ask).
	cfg.KnownHostsFiles = []string{filepath.Join(t.TempDir(), "empty_known_hosts")}
	if _, err := k.Watch(t.Context(), TargetOf(cfg)); !errors.Is(err, ErrDial) {
		t.Errorf("unknown host key: %v, want ErrDial", err)
	}
}

func TestKeeperForwardingRefused(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{DisableStreamLocalForwarding: true})
	st := startKeeper(t, time.Minute)
	_, err := st.client().DialUnix(t.Context(), TargetOf(transporttest.Config(t, s)), echoSocket(t))
	if !errors.Is(err, transport.ErrForwardingRefused) {
		t.Errorf("forwarding forbidden: %v, want transport.ErrForwardingRefused", err)
	}
}

func TestKeeperRedialsAfterConnectionEnds(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	st := startKeeper(t, time.Minute)
	k := st.client()
	tgt := TargetOf(transporttest.Config(t, s))
	w, err := k.Watch(t.Context(), tgt)
	if err != nil {
		t.Fatal(err)
	}
	// The server side of the connection goes: the watch ends.
	st.srv.closeAll()
	w.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, w); err != nil {
		t.Fatalf("watch did not end with the connection: %v", err)
	}
	res, err := k.Exec(t.Context(), tgt, []string{"echo", "again"}, nil)
	if err != nil || string(res.Stdout) != "again\n" {
		t.Fatalf("exec after the connection ended = %q, %v", res.Stdout, err)
	}
	if n := st.dials.Load(); n != 2 {
		t.Errorf("dials = %d, want 2 (one re-dial)", n)
	}
}

func TestKeeperExitsWhenIdle(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	st := startKeeper(t, 300*time.Millisecond)
	w, err := st.client().Watch(t.Context(), TargetOf(transporttest.Config(t, s)))
	if err != nil {
		t.Fatal(err)
	}
	// A command still holding a stream keeps the keeper up.
	select {
	case err := <-st.served:
		t.Fatalf("keeper exited with a watch open: %v", err)
	case <-time.After(time.Second):
	}
	w.Close()
	select {
	case err := <-st.served:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
		st.served <- nil // for cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("keeper did not exit once idle")
	}
	if _, err := os.Stat(st.sock); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket left after exit: %v", err)
	}
}

func TestListenPermissions(t *testing.T) {
	st := startKeeper(t, time.Minute)
	for p, want := range map[string]os.FileMode{filepath.Dir(st.sock): 0o700, st.sock: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	if _, err := Listen(st.sock); !errors.Is(err, ErrRunning) {
		t.Errorf("second Listen = %v, want ErrRunning", err)
	}
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(filepath.Join(open, "s.sock")); err == nil || !strings.Contains(err.Error(), "open to others") {
		t.Errorf("Listen in a 0755 folder = %v, want a refusal", err)
	}
}

func TestProtocolFramesAndLines(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	big := strings.Repeat("x", maxFrame+10)
	go func() {
		writeLine(a, request{Op: opExec, Argv: []string{"a b", "c"}})
		writeFrame(a, frameStdout, []byte(big))
		a.Write([]byte{frameStdout, 0xff, 0xff, 0xff, 0xff})
	}()
	var req request
	if err := readLine(b, &req); err != nil || req.Op != opExec || len(req.Argv) != 2 {
		t.Fatalf("readLine = %+v, %v", req, err)
	}
	var got []byte
	for len(got) < len(big) {
		typ, data, err := readFrame(b)
		if err != nil || typ != frameStdout {
			t.Fatalf("readFrame = %d, %v", typ, err)
		}
		got = append(got, data...)
	}
	if string(got) != big {
		t.Errorf("frames carried %d bytes, want %d", len(got), len(big))
	}
	if _, _, err := readFrame(b); err == nil {
		t.Error("an oversized frame was accepted")
	}
}

func TestKeeperStops(t *testing.T) {
	st := startKeeper(t, time.Minute)
	if err := st.client().Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-st.served:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
		st.served <- nil // for cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("keeper did not exit on stop")
	}
	if err := st.client().Stop(t.Context()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stop with no keeper = %v, want fs.ErrNotExist", err)
	}
}

// TestKeeperStartedCommandConverses: a command started through the keeper
// asks on stdout, is answered on stdin while it runs (3 MB, more than a
// frame and than SSH's channel window), and its stderr and exit status
// come back at its end.
func TestKeeperStartedCommandConverses(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	st := startKeeper(t, time.Minute)
	k := st.client()
	tgt := TargetOf(transporttest.Config(t, s))
	cmd, err := k.StartCommand(t.Context(), tgt, []string{"sh", "-c",
		`echo ask; IFS= read -r a; echo "got $a"; wc -c; echo oops >&2; exit 5`})
	if err != nil {
		t.Fatal(err)
	}
	defer cmd.Close()
	br := bufio.NewReader(cmd.Stdout())
	if line, err := br.ReadString('\n'); err != nil || line != "ask\n" {
		t.Fatalf("first line = %q, %v", line, err)
	}
	go func() {
		io.WriteString(cmd, "answer\n")
		cmd.Write(make([]byte, 3<<20))
		cmd.CloseStdin()
	}()
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(rest)); len(got) != 3 || got[0] != "got" || got[1] != "answer" || got[2] != "3145728" {
		t.Errorf("rest of stdout = %q, want the answer and 3145728 bytes counted", rest)
	}
	res, err := cmd.Wait()
	if err != nil || res.ExitCode != 5 || string(res.Stderr) != "oops\n" {
		t.Errorf("wait = %d %q %v, want 5, oops", res.ExitCode, res.Stderr, err)
	}
}

// TestKeeperStartedCommandEndsWithItsPeer: closing a started command ends
// its session: the remote side sees its stdin end.
func TestKeeperStartedCommandEndsWithItsPeer(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	st := startKeeper(t, time.Minute)
	k := st.client()
	tgt := TargetOf(transporttest.Config(t, s))
	done := filepath.Join(t.TempDir(), "done")
	cmd, err := k.StartCommand(t.Context(), tgt, []string{"sh", "-c", `echo up; cat >/dev/null; touch "$1"`, "sh", done})
	if err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(cmd.Stdout()).ReadString('\n'); err != nil || line != "up\n" {
		t.Fatalf("first line = %q, %v", line, err)
	}
	cmd.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(done); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the command's stdin did not end when its peer closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKeeperOpensTheNextStreamAhead: after a stream to a socket the keeper
// opens the next one ahead (a spare), hands it to the next request for that
// socket, never hands out one whose far end closed, and closes one nobody
// took once spareTTL passed.
func TestKeeperOpensTheNextStreamAhead(t *testing.T) {
	defer func(old time.Duration) { spareTTL = old }(spareTTL)
	spareTTL = time.Second
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	st := startKeeper(t, time.Minute)
	k := st.client()
	tgt := TargetOf(transporttest.Config(t, s))
	srv := newCountingSocket(t)

	echo := func() {
		t.Helper()
		c, err := k.DialUnix(t.Context(), tgt, srv.path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "hi\n")
		if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "HI\n" {
			t.Fatalf("echo = %q, %v", line, err)
		}
	}
	echo()
	srv.waitAccepted(t, 2) // the one used, and a spare
	echo()
	if n := srv.accepted(); n > 3 {
		t.Errorf("%d connections accepted after two streams, want the spare taken (3 with the next spare)", n)
	}
	srv.waitAccepted(t, 3)

	srv.closeAll() // the far end drops the waiting spare
	time.Sleep(200 * time.Millisecond)
	echo()
	srv.waitAccepted(t, 5) // a stream of its own, and a new spare

	// Nobody takes the last spare: it is closed after spareTTL.
	deadline := time.Now().Add(10 * time.Second)
	for srv.open() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open %s after the last stream", srv.open(), 10*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// countingSocket is an echo socket (lines upper-cased) that counts the
// connections it accepted and can close them all.
type countingSocket struct {
	path  string
	mu    sync.Mutex
	conns []net.Conn
	live  int
}

func newCountingSocket(t *testing.T) *countingSocket {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "kc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cs := &countingSocket{path: filepath.Join(dir, "c.sock")}
	ln, err := net.Listen("unix", cs.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); cs.closeAll() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cs.mu.Lock()
			cs.conns = append(cs.conns, c)
			cs.live++
			cs.mu.Unlock()
			go func() {
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					io.WriteString(c, strings.ToUpper(sc.Text())+"\n")
				}
				c.Close()
				cs.mu.Lock()
				cs.live--
				cs.mu.Unlock()
			}()
		}
	}()
	return cs
}

func (cs *countingSocket) accepted() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.conns)
}

func (cs *countingSocket) open() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.live
}

func (cs *countingSocket) closeAll() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for _, c := range cs.conns {
		c.Close()
	}
}

func (cs *countingSocket) waitAccepted(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for cs.accepted() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections accepted, want %d", cs.accepted(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if got := cs.accepted(); got != n {
		t.Fatalf("%d connections accepted, want %d", got, n)
	}
}
