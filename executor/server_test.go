package executor

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/client"
	"github.com/ferry-ml/ferry/internal/buildinfo"
)

// shortDir returns a state directory short enough for a unix socket.
func shortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "fx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func dialer(socket string) func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}
}

// startServer serves dir in-process; the returned channel yields Serve's
// result.
func startServer(t *testing.T, dir string, runs http.Handler) (*client.Client, *Server, func() error) {
	t.Helper()
	srv, err := New(Config{StateDir: dir, Logger: testLogger(t), Runs: runs})
	if err != nil {
		t.Fatal(err)
	}
	l, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	wait := sync.OnceValue(func() error { return <-done })
	t.Cleanup(func() { cancel(); wait() })
	c := client.New(dialer(SocketPath(dir)), testLogger(t))
	t.Cleanup(c.Close)
	return c, srv, wait
}

func TestServerSync(t *testing.T) {
	dir := shortDir(t)
	c, _, _ := startServer(t, dir, nil)
	ctx := t.Context()
	h, err := c.Hello(ctx)
	if err != nil || h.Version != buildinfo.String() || h.Protocol != api.ProtocolVersion || h.PID != os.Getpid() {
		t.Fatalf("hello = %+v, %v", h, err)
	}
	m, blobs := manifestOf(t, sampleTree)
	missing, err := c.Missing(ctx, ids(blobs), false)
	if err != nil || len(missing) != len(blobs) {
		t.Fatalf("missing = %v, %v", missing, err)
	}
	data, _ := m.MarshalBinary()
	_, err = c.PutSnapshot(ctx, m.ID().String(), data)
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict || apiErr.Code != api.CodeMissingBlobs || len(apiErr.Missing) != len(blobs) {
		t.Fatalf("put before upload: %#v", err)
	}
	resp, err := c.Ingest(ctx, []string{writePack(t, dir, "p", blobs, 0)})
	if err != nil || resp.Blobs != len(blobs)-1 || !slices.Equal(resp.Rejected, ids(blobs[:1])) {
		t.Fatalf("ingest = %+v, %v", resp, err)
	}
	writePack(t, dir, "p2", blobs[:1])
	if _, err := c.Ingest(ctx, []string{"p2"}); err != nil {
		t.Fatal(err)
	}
	sr, err := c.PutSnapshot(ctx, m.ID().String(), data)
	if err != nil || sr.Files != len(sampleTree) {
		t.Fatalf("put = %+v, %v", sr, err)
	}
	got, err := c.Snapshot(ctx, m.ID().String())
	if err != nil || string(got) != string(data) {
		t.Fatalf("get snapshot: %v", err)
	}
	if _, err := c.Snapshot(ctx, hexID([]byte("none"))); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("unknown snapshot: %v, want ErrNotFound", err)
	}
	if _, err := c.Ingest(ctx, []string{"../etc"}); !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
		t.Errorf("bad pack name: %v, want 400", err)
	}
	if _, err := c.ListRuns(ctx); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("runs without a runs handler: %v, want 404", err)
	}
}

func TestServerCorruptPack(t *testing.T) {
	dir := shortDir(t)
	c, _, _ := startServer(t, dir, nil)
	os.WriteFile(dir+"/incoming/bad", []byte("FERRYPK1 garbage"), 0o600)
	_, err := c.Ingest(t.Context(), []string{"bad"})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != api.CodeCorrupt || apiErr.Status != http.StatusUnprocessableEntity {
		t.Fatalf("corrupt pack: %v", err)
	}
}

func TestServerMountsRunsAndShutsDown(t *testing.T) {
	dir := shortDir(t)
	runs := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`[{"status":"Running","spec":{"id":"r1"}}]`))
	})
	c, _, wait := startServer(t, dir, runs)
	rs, err := c.ListRuns(t.Context())
	if err != nil || len(rs) != 1 || rs[0].Spec.ID != "r1" {
		t.Fatalf("list runs = %+v, %v", rs, err)
	}
	// A connection opened ahead that never sent a request (a keeper's
	// spare stream) does not hold the shutdown up.
	spare, err := net.Dial("unix", SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if _, err := c.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatalf("serve after shutdown: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("shutdown took %s with an idle new connection open, want well under its 2 s grace", d)
	}
}

func TestListenRefusesLongSocketPath(t *testing.T) {
	long := "/tmp/" + string(make([]byte, 0)) + "x"
	for len(long) < 120 {
		long += "xxxxxxxxxx"
	}
	if _, err := Listen(long); err == nil {
		t.Fatal("listen on a too long socket path succeeded")
	}
}

// TestPutSnapshotOverLimit: a manifest whose header claims more than
// snapshot.MaxEntries entries is refused with a 400 that says so.
func TestPutSnapshotOverLimit(t *testing.T) {
	c, _, _ := startServer(t, shortDir(t), nil)
	data := []byte("FERRYMNF")
	data = binary.BigEndian.AppendUint32(data, 1)
	data = binary.BigEndian.AppendUint32(data, 2_000_000)
	data = append(data, make([]byte, 4096)...)
	_, err := c.PutSnapshot(t.Context(), hexID(data), data)
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest ||
		!strings.Contains(apiErr.Message, "2000000 files and symlinks, the limit is 500000") {
		t.Fatalf("put of a 2M-entry manifest: %v, want 400 naming the limit", err)
	}
}
