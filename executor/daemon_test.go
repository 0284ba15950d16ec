package executor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/client"
)

// ensure runs "bin ensure" and returns its stdout line's fields.
func ensure(t *testing.T, bin, dir string) []string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "ensure", "--state-dir", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("ensure: %v\n%s", err, stderr.String())
	}
	t.Logf("ensure took %v", time.Since(start))
	out := stdout.String()
	if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Fatalf("ensure stdout %q: want exactly one line", out)
	}
	f := strings.Fields(out)
	if len(f) == 5 && f[4] != api.EmptyStore || len(f) != 4 && len(f) != 5 || f[0] != api.Magic || f[1] != fmt.Sprint(api.ProtocolVersion) || f[3] != SocketPath(dir) {
		t.Fatalf("ensure printed %q", out)
	}
	return f
}

func daemonClient(t *testing.T, dir string) *client.Client {
	c := client.New(dialer(SocketPath(dir)), testLogger(t))
	t.Cleanup(c.Close)
	return c
}

// stopDaemon shuts down the daemon on dir and waits until it has exited.
func stopDaemon(t *testing.T, dir string) {
	c := client.New(dialer(SocketPath(dir)), nil)
	defer c.Close()
	if _, err := c.Shutdown(context.Background()); err != nil {
		return
	}
	if err := waitUnlocked(context.Background(), dir, 10*time.Second); err != nil {
		t.Errorf("daemon did not stop: %v", err)
	}
}

func TestEnsureStartsOnceAndReplacesOtherVersions(t *testing.T) {
	requireBinary(t)
	dir := shortDir(t)
	t.Cleanup(func() { stopDaemon(t, dir) })
	c := daemonClient(t, dir)

	if f := ensure(t, binOld, dir); f[2] != oldVersion {
		t.Fatalf("old ensure started version %s", f[2])
	}
	old, err := c.Hello(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if f := ensure(t, binCurrent, dir); f[2] != testVersion {
		t.Fatalf("ensure printed version %s, want %s", f[2], testVersion)
	}
	first, err := c.Hello(t.Context())
	if err != nil || first.Version != testVersion || first.PID == old.PID {
		t.Fatalf("after replacing: hello %+v (old pid %d), %v", first, old.PID, err)
	}
	ensure(t, binCurrent, dir)
	second, err := c.Hello(t.Context())
	if err != nil || second.PID != first.PID {
		t.Fatalf("second ensure restarted the daemon: pid %d -> %d (%v)", first.PID, second.PID, err)
	}
	if _, err := c.ListRuns(t.Context()); err != nil {
		t.Errorf("runs not served by the daemon: %v", err)
	}
	if _, err := LockStateDir(dir); err != ErrLocked {
		t.Errorf("state lock not held by the daemon: %v", err)
	}
	fi, err := os.Stat(SocketPath(dir))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, %v", fi.Mode(), err)
	}
	logb, _ := os.ReadFile(filepath.Join(dir, LogName))
	if !bytes.Contains(logb, []byte(`"@message":"serving"`)) {
		t.Errorf("executor.log has no JSON serving line:\n%s", logb)
	}
}

func TestProxyRoundTrip(t *testing.T) {
	requireBinary(t)
	dir := shortDir(t)
	t.Cleanup(func() { stopDaemon(t, dir) })
	ensure(t, binCurrent, dir)
	cmd := exec.Command(binCurrent, "proxy", "--state-dir", dir)
	cmd.Stdin = strings.NewReader("GET /v1/hello HTTP/1.1\r\nHost: x\r\n\r\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("proxy: %v\n%s", err, stderr.String())
	}
	if !bytes.HasPrefix(out, []byte("HTTP/1.1 200")) || !bytes.Contains(out, []byte(testVersion)) {
		t.Fatalf("proxy answer:\n%s", out)
	}
}

func TestInstall(t *testing.T) {
	requireBinary(t)
	dir := shortDir(t)
	if err := PrepareStateDir(dir); err != nil {
		t.Fatal(err)
	}
	upload := filepath.Join(dir, TmpDir, ".ferry-executor-upload")
	copyFile(t, binCurrent, upload)
	stale := filepath.Join(dir, VersionsDir, "0.0.1+stale")
	recent := filepath.Join(dir, VersionsDir, "0.0.2+recent")
	for _, d := range []string{stale, recent} {
		os.MkdirAll(d, 0o700)
	}
	old := time.Now().Add(-40 * 24 * time.Hour)
	os.Chtimes(stale, old, old)

	out, err := exec.Command(upload, "install", "--state-dir", dir).Output()
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	want := InstalledPath(dir, testVersion)
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("install printed %q, want %q", got, want)
	}
	if _, err := os.Stat(upload); !os.IsNotExist(err) {
		t.Error("uploaded executable still in tmp/ after install")
	}
	if v, err := exec.Command(want, "version").Output(); err != nil || !bytes.Contains(v, []byte(testVersion)) {
		t.Errorf("installed executable: %s %v", v, err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("version unused for 40 days not pruned")
	}
	if _, err := os.Stat(recent); err != nil {
		t.Error("recently used version pruned")
	}
}

func TestServeRefusesLongSocketPath(t *testing.T) {
	requireBinary(t)
	dir := filepath.Join(shortDir(t), strings.Repeat("d", 110))
	out, err := exec.Command(binCurrent, "serve", "--state-dir", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "unix sockets allow at most") {
		t.Fatalf("serve with a long path: %v\n%s", err, out)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o700)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
