package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
	buildOut  []byte
)

// ExecutorTags are the build tags of every executor binary, as the
// Makefile's EXECUTOR_TAGS: no bundled HTTP/2 in net/http.
const ExecutorTags = "nethttpomithttp2"

// Binaries builds bin/ferry and bin/ferry-executor-linux-<arch> once per
// test process, with one build id so that the agent accepts the executor,
// and the executor's compressed copies as `make build` writes them, and
// returns the directory holding them: a per-process temp dir under
// os.TempDir(), which the package's TestMain removes after m.Run with
// RemoveBinaries.
func Binaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := findRepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		buildDir, err = os.MkdirTemp("", "ferry-bin-")
		if err != nil {
			buildErr = err
			return
		}
		ld := "-X github.com/ferry-ml/ferry/internal/buildinfo.BuildID=test" + filepath.Base(buildDir)
		for _, b := range []struct{ pkg, out, tags string }{
			{"./cmd/ferry", "ferry", ""},
			{"./cmd/ferry-executor", "ferry-executor-linux-" + runtime.GOARCH, ExecutorTags},
		} {
			cmd := exec.Command("go", "build", "-tags", b.tags, "-ldflags", ld, "-o", filepath.Join(buildDir, b.out), b.pkg)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
			if buildOut, buildErr = cmd.CombinedOutput(); buildErr != nil {
				return
			}
		}
		cmd := exec.Command("go", "run", "./internal/tools/compress-executor", filepath.Join(buildDir, "ferry-executor-linux-"+runtime.GOARCH))
		cmd.Dir = root
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build ferry binaries: %v\n%s", buildErr, buildOut)
	}
	return buildDir
}

// RemoveBinaries deletes the directory Binaries built, if any; call it
// from TestMain once every test has run.
func RemoveBinaries() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// Main runs the package's tests, then RemoveBinaries, and exits: the
// TestMain of a package whose tests use Binaries and need nothing else.
func Main(m *testing.M) {
	code := m.Run()
	RemoveBinaries()
	os.Exit(code)
}
