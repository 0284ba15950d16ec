package conda

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-ml/ferry/internal/fsutil"
	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/internal/testutil/fakeconda"
	"github.com/hashicorp/go-hclog"
)

// newFakeCache returns a cache built by the fake micromamba and the path of
// the fake's invocation log.
func newFakeCache(t *testing.T) (*Cache, string) {
	t.Helper()
	testutil.RequireCommand(t, "python3")
	logPath := filepath.Join(t.TempDir(), "calls")
	t.Setenv("FAKECONDA_LOG", logPath)
	t.Setenv("FAKECONDA_DELAY", "0")
	t.Setenv("PATH", fakeconda.Dir()+string(os.PathListSeparator)+os.Getenv("PATH"))
	c, err := OpenCache(t.TempDir(), hclog.New(&hclog.LoggerOptions{Output: t.Output(), Level: hclog.Trace}))
	if err != nil {
		t.Fatal(err)
	}
	return c, logPath
}

func calls(t *testing.T, logPath string) int {
	t.Helper()
	data, err := os.ReadFile(logPath)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "\n")
}

func ensure(t *testing.T, c *Cache, spec string) (*Env, string) {
	t.Helper()
	var out bytes.Buffer
	env, err := c.Ensure(t.Context(), Request{Spec: []byte(spec), Output: &out})
	if err != nil {
		t.Fatalf("ensure: %v\noutput:\n%s", err, out.String())
	}
	return env, out.String()
}

const specA = "name: a\ndependencies:\n- python=3.11\n- numpy=1.26\n"

func TestEnsureBuildsOnceAndReuses(t *testing.T) {
	c, logPath := newFakeCache(t)
	env, out := ensure(t, c, specA)
	if !env.Built || !strings.Contains(out, "ferry: building conda environment "+ShortKey(env.Key)+" with micromamba") ||
		!strings.Contains(out, "fakeconda: transaction finished") {
		t.Fatalf("first ensure: built=%v output:\n%s", env.Built, out)
	}
	if _, err := os.Stat(filepath.Join(env.Prefix, "bin", "python")); err != nil {
		t.Fatalf("prefix has no python: %v", err)
	}
	// Same environment, other name and order: reused with no tool call.
	again, out := ensure(t, c, "name: other\ndependencies:\n- numpy=1.26\n- python=3.11\n")
	if again.Built || again.Key != env.Key || calls(t, logPath) != 1 || !strings.Contains(out, "(cached)") {
		t.Fatalf("second ensure: built=%v key=%s calls=%d output:\n%s", again.Built, again.Key, calls(t, logPath), out)
	}
	// A changed pin is another environment.
	other, _ := ensure(t, c, "dependencies:\n- python=3.11\n- numpy=1.25\n")
	if !other.Built || other.Key == env.Key || calls(t, logPath) != 2 {
		t.Fatalf("changed pin: built=%v calls=%d", other.Built, calls(t, logPath))
	}
}

func TestEnsureFailedBuildLeavesNothing(t *testing.T) {
	c, logPath := newFakeCache(t)
	var out bytes.Buffer
	_, err := c.Ensure(t.Context(), Request{Spec: []byte("dependencies:\n- fail-me\n"), Output: &out})
	var be *BuildError
	if !errors.As(err, &be) || !strings.Contains(be.Tail, "nothing provides requested fail-me") {
		t.Fatalf("err = %v, want a BuildError with the tool's output", err)
	}
	if _, err := os.Stat(be.Key); err == nil {
		t.Fatal("unexpected file named by key in cwd")
	}
	if _, err := os.Stat(c.Prefix(be.Key)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("failed prefix left behind: %v", err)
	}
	if _, err := c.Ensure(t.Context(), Request{Spec: []byte("dependencies:\n- fail-me\n")}); err == nil || calls(t, logPath) != 2 {
		t.Fatalf("retry of a failed spec: err=%v calls=%d (want a second build attempt)", err, calls(t, logPath))
	}
}

func TestEnsureRebuildsIncompletePrefix(t *testing.T) {
	c, logPath := newFakeCache(t)
	spec, err := ParseSpec([]byte(specA), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A crashed build: the prefix exists, the marker does not.
	if err := os.MkdirAll(filepath.Join(c.Prefix(spec.Key()), "bin"), 0o700); err != nil {
		t.Fatal(err)
	}
	env, _ := ensure(t, c, specA)
	if !env.Built || calls(t, logPath) != 1 {
		t.Fatalf("incomplete prefix was used: built=%v calls=%d", env.Built, calls(t, logPath))
	}
}

func TestEnsureConcurrentBuildsOnce(t *testing.T) {
	c, logPath := newFakeCache(t)
	t.Setenv("FAKECONDA_DELAY", "0.5")
	var wg sync.WaitGroup
	built := make([]bool, 3)
	for i := range built {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env, err := c.Ensure(t.Context(), Request{Spec: []byte(specA)})
			if err != nil {
				t.Error(err)
				return
			}
			built[i] = env.Built
		}()
	}
	wg.Wait()
	n := 0
	for _, b := range built {
		if b {
			n++
		}
	}
	if n != 1 || calls(t, logPath) != 1 {
		t.Fatalf("builds = %d, tool calls = %d; want 1 and 1", n, calls(t, logPath))
	}
}

func TestEnsureNoTool(t *testing.T) {
	c, err := OpenCache(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	_, err = c.Ensure(t.Context(), Request{Spec: []byte(specA)})
	if !errors.Is(err, ErrNoTool) || !strings.Contains(err.Error(), "micromamba, a single static binary") {
		t.Fatalf("err = %v, want ErrNoTool", err)
	}
}

func TestEnsurePipRequirementsWritten(t *testing.T) {
	c, _ := newFakeCache(t)
	spec := "dependencies:\n- python\n- pip:\n  - -r reqs/base.txt\n"
	env, err := c.Ensure(t.Context(), Request{Spec: []byte(spec), Requirements: map[string][]byte{"reqs/base.txt": []byte("requests==2\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if env.Spec.PipRequirements["reqs/base.txt"] == nil {
		t.Fatalf("requirements not parsed: %+v", env.Spec.PipRequirements)
	}
	if _, err := c.Ensure(t.Context(), Request{Spec: []byte(spec)}); err == nil {
		t.Fatal("a spec whose -r file was not sent was accepted")
	}
}

func TestListRemovePrune(t *testing.T) {
	c, _ := newFakeCache(t)
	a, _ := ensure(t, c, specA)
	b, _ := ensure(t, c, "dependencies:\n- python=3.12\n")
	d, _ := ensure(t, c, "dependencies:\n- python=3.10\n")
	ensure(t, c, specA) // a is now the most recently used
	list, err := c.List()
	if err != nil || len(list) != 3 || list[2].Key != a.Key || list[0].Size == 0 {
		t.Fatalf("list = %+v, %v; want 3 entries, %s last", list, err, ShortKey(a.Key))
	}
	removed, kept, err := c.Prune(2, 0)
	if err != nil || len(removed) != 1 || removed[0].Key != b.Key || len(kept) != 2 {
		t.Fatalf("prune --keep 2: removed %+v kept %d err %v; want %s removed", removed, len(kept), err, ShortKey(b.Key))
	}
	if _, err := c.Remove(d.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Remove(d.Key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second remove: %v, want ErrNotFound", err)
	}
	if _, err := c.Remove("../x"); !errors.Is(err, ErrBadKey) {
		t.Fatalf("remove bad key: %v", err)
	}
	l, err := fsutil.TryLock(c.lockPath(a.Key))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Remove(a.Key); !errors.Is(err, ErrBusy) {
		t.Fatalf("remove while building: %v, want ErrBusy", err)
	}
	l.Unlock()
	if removed, _, err := c.Prune(-1, 1); err != nil || len(removed) != 1 {
		t.Fatalf("prune --max-size 1: removed %d, %v", len(removed), err)
	}
}
