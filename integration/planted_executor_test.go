package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// plantExecutor puts a fake executor where ferry looks for its own build
// under stateDir; running it creates the returned marker file.
func plantExecutor(t *testing.T, c *cli, stateDir string) string {
	t.Helper()
	var v struct{ Version, Build string }
	if err := json.Unmarshal([]byte(c.mustRun("", "version", "--json").Stdout), &v); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "pwned")
	exe := filepath.Join(stateDir, "executor", v.Version+"+"+v.Build, "ferry-executor")
	if err := os.MkdirAll(filepath.Dir(exe), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, []byte("#!/bin/sh\ntouch "+marker+"\nexit 1\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return marker
}

// TestPlantedExecutorInSharedStateDir: a state dir another user owns and
// anyone may write (a shared /tmp/x) is refused before anything in it runs.
func TestPlantedExecutorInSharedStateDir(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.SkipOrFail(t, "planting as another user needs root")
	}
	t.Parallel()
	c := newCLI(t)
	state := filepath.Join(c.home, "local")
	marker := plantExecutor(t, c, state)
	for _, d := range []string{state, filepath.Join(state, "executor")} {
		if err := os.Chown(d, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	src := sourceDir(t, testutil.Tree{"a.py": "print('hi')\n"})
	r := c.run(src, "run", "a.py")
	if r.Code == 0 || !strings.Contains(r.Stderr, "unsafe state directory") || !strings.Contains(r.Stderr, "owned by uid 65534") {
		t.Fatalf("run in a shared state dir: exit %d\n%s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the planted executor ran")
	}
}

// TestPlantedExecutorWrongHash: in the user's own state dir, an executor
// whose SHA-256 is not the one ferry ships is never run: ferry installs
// its own over it and the run works.
func TestPlantedExecutorWrongHash(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	state := filepath.Join(c.home, "local")
	marker := plantExecutor(t, c, state)
	if err := os.Chmod(state, 0o700); err != nil {
		t.Fatal(err)
	}
	src := sourceDir(t, testutil.Tree{"a.py": "print('hi from the run')\n"})
	r := c.mustRun(src, "run", "a.py")
	if !strings.Contains(r.Stdout, "hi from the run") {
		t.Fatalf("run output %q", r.Stdout)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the planted executor ran")
	}
}
