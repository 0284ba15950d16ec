//go:build linux

package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/hashicorp/go-hclog"
)

// TestMain lets the test binary act as the shim: the runner under test
// starts os.Args[0] as "shim --run-dir D", like the daemon binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "shim" {
		os.Exit(Shim(os.Args[2:]))
	}
	if len(os.Args) > 2 && os.Args[1] == "remove-tree" { // TestRemoveTreeWithReadOnlyDirectories
		if err := removeTree(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testKillGrace keeps cancel tests fast.
const testKillGrace = 500 * time.Millisecond

// fakeMaterializer writes declarative trees keyed by snapshot id.
type fakeMaterializer struct {
	trees map[string]testutil.Tree
}

func (f *fakeMaterializer) Materialize(ctx context.Context, snapshotID, dir string) error {
	if snapshotID == "block" { // blocks until canceled
		<-ctx.Done()
		return ctx.Err()
	}
	tree, ok := f.trees[snapshotID]
	if !ok {
		return fmt.Errorf("snapshot %s not found", snapshotID)
	}
	return writeTree(dir, tree)
}

// writeTree is testutil.WriteTree for code that has no *testing.T.
func writeTree(dir string, tree testutil.Tree) error {
	for rel, content := range tree {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if strings.HasSuffix(rel, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		var err error
		if target, ok := strings.CutPrefix(content, "->"); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// env is one runner under test with its HTTP server.
type env struct {
	t        *testing.T
	state    string
	mat      *fakeMaterializer
	recycler Recycler // nil: none
	r        *Runner
	srv      *httptest.Server
}

func newEnv(t *testing.T, trees map[string]testutil.Tree) *env {
	t.Helper()
	testutil.RequireCommand(t, "python3")
	e := &env{t: t, state: t.TempDir(), mat: &fakeMaterializer{trees: trees}}
	e.start()
	return e
}

// start opens a Runner on e.state, recovers and serves it.
func (e *env) start() {
	e.t.Helper()
	r, err := New(Config{
		StateDir:     e.state,
		Materializer: e.mat,
		Recycler:     e.recycler,
		Logger:       hclog.New(&hclog.LoggerOptions{Output: e.t.Output(), Level: hclog.Debug}),
		ShimPath:     os.Args[0],
		KillGrace:    testKillGrace,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := r.Recover(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
	e.r = r
	e.srv = httptest.NewServer(r.Handler())
	e.t.Cleanup(e.stop)
}

// stop closes the server and the runner (the "daemon dies"; shims go on).
func (e *env) stop() {
	if e.srv != nil {
		e.srv.CloseClientConnections()
		e.srv.Close()
		e.srv = nil
	}
	if e.r != nil {
		_ = e.r.Close()
		e.r = nil
	}
}

var idCounter atomic.Int64

// newID returns a run id unique across test processes (their scripts are
// found by scanning /proc for FERRY_RUN_ID).
func newID(t *testing.T) string {
	name := regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-")
	if len(name) > 30 {
		name = name[len(name)-30:]
	}
	return fmt.Sprintf("%s-%d-%d", name, os.Getpid(), idCounter.Add(1))
}

func (e *env) submit(spec api.RunSpec) api.Run {
	e.t.Helper()
	if spec.ID == "" {
		spec.ID = newID(e.t)
	}
	if spec.Experiment == "" {
		spec.Experiment = "exp"
	}
	var run api.Run
	code := e.do("POST", "/v1/runs", spec, &run)
	if code != http.StatusCreated {
		e.t.Fatalf("submit: status %d", code)
	}
	return run
}

// do sends a JSON request and decodes the JSON answer into out.
func (e *env) do(method, path string, body, out any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// wait waits for run id to end.
func (e *env) wait(id string) api.Run {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 60*time.Second)
	defer cancel()
	run, err := e.r.Wait(ctx, id)
	if err != nil {
		e.t.Fatalf("wait for run %s: %v", id, err)
	}
	return run
}

// openLog opens the log stream of run id.
func (e *env) openLog(id string, offset int64, follow bool) *http.Response {
	e.t.Helper()
	url := fmt.Sprintf("%s/v1/runs/%s/log?offset=%d&follow=%v", e.srv.URL, id, offset, follow)
	req, err := http.NewRequestWithContext(e.t.Context(), "GET", url, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("log: status %d", resp.StatusCode)
	}
	return resp
}

// readLog returns the whole log of id from offset (following to the end).
func (e *env) readLog(id string, offset int64, follow bool) []byte {
	e.t.Helper()
	resp := e.openLog(id, offset, follow)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return data
}

// waitForLine follows the log of id until a line equal to want arrives.
func (e *env) waitForLine(id, want string) {
	e.t.Helper()
	resp := e.openLog(id, 0, true)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() == want {
			return
		}
	}
	e.t.Fatalf("log of %s ended without line %q", id, want)
}

// runProcs returns the live processes carrying FERRY_RUN_ID=id.
func runProcs(id string) []int { return runProcesses(allProcesses(), id) }

func py(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// shimIdentity reads the shim.pid of run id in e.
func (e *env) shimIdentity(dir string) procIdentity {
	e.t.Helper()
	id, err := readShimIdentity(runPaths(dir))
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// metrics reads the kept metrics of run id, which has ended, through the
// API, from byte offset 0.
func (e *env) metrics(id string) []api.Metric {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), "GET", e.srv.URL+"/v1/runs/"+id+"/metrics", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("metrics of %s: status %d", id, resp.StatusCode)
	}
	var out []api.Metric
	dec := json.NewDecoder(resp.Body)
	for dec.More() {
		var m api.Metric
		if err := dec.Decode(&m); err != nil {
			e.t.Fatalf("metrics of %s: %v", id, err)
		}
		out = append(out, m)
	}
	return out
}
