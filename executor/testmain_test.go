package executor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// Two builds (made on first use) of cmd/ferry-executor that differ only in their build id, so
// that tests can replace a daemon of "another version".
var (
	binDir     string
	binCurrent string // version testVersion
	binOld     string // version oldVersion
	buildOnce  sync.Once
	buildErr   error
)

const (
	testVersion = "0.1.0-test+current"
	oldVersion  = "0.1.0-test+old"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fxbin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	binCurrent = filepath.Join(dir, "current", "ferry-executor")
	binOld = filepath.Join(dir, "old", "ferry-executor")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildExecutor(out, buildID string) error {
	ldflags := "-X github.com/ferry-ml/ferry/internal/buildinfo.Version=0.1.0-test -X github.com/ferry-ml/ferry/internal/buildinfo.BuildID=" + buildID
	cmd := exec.Command("go", "build", "-tags", testutil.ExecutorTags, "-o", out, "-ldflags", ldflags, "github.com/ferry-ml/ferry/cmd/ferry-executor")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build ferry-executor: %w\n%s", err, b)
	}
	return nil
}

func requireBinary(t *testing.T) {
	t.Helper()
	buildOnce.Do(func() {
		buildErr = buildExecutor(binCurrent, "current")
		if buildErr == nil {
			buildErr = buildExecutor(binOld, "old")
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// SkipOrFailf is testutil.SkipOrFail with formatting.
func SkipOrFailf(t testing.TB, format string, args ...any) {
	t.Helper()
	testutil.SkipOrFail(t, fmt.Sprintf(format, args...))
}

func mountTmpfs(dir, size string) error {
	return unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700")
}

func unmount(dir string) { unix.Unmount(dir, unix.MNT_DETACH) }
