package execpack

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// TestLinkerDropsUnusedMethods guards the executor's size, which first
// contact pays on the link: when reflect.Value.Method or MethodByName is
// reachable (text/template and html/template make it so), the linker must
// keep every exported method of every type in the binary. That cost 2.8 MB
// of 13.5 MB (750 kB of the 4.4 MB zstd copy) when spark's entry point was
// a text/template.
func TestLinkerDropsUnusedMethods(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the executor")
	}
	bin := filepath.Join(t.TempDir(), "ferry-executor")
	build := exec.Command("go", "build", "-trimpath", "-tags", testutil.ExecutorTags, "-o", bin, "../../cmd/ferry-executor")
	build.Env = append(build.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	if !strings.Contains(string(out), " main.main") {
		t.Fatalf("go tool nm printed no main.main: not the symbol table this test reads")
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && strings.HasPrefix(f[len(f)-1], "reflect.Value.Method") {
			t.Errorf("the executor links %s: a package it imports calls it (text/template?); "+
				"find it with go build -ldflags=-dumpdep and remove it", f[len(f)-1])
		}
	}
}

// TestExecutorLeavesHeavyModulesOut guards the executor's size from the
// other side: Docker's Go SDK brought OpenTelemetry and the whole Engine
// API's types (1.1 MB, 240 kB of the zstd copy); executor/docker/engine
// makes the few calls ferry needs.
func TestExecutorLeavesHeavyModulesOut(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-tags", testutil.ExecutorTags, "../../cmd/ferry-executor")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if !strings.Contains(string(out), "github.com/ferry-ml/ferry/executor/docker/engine\n") {
		t.Fatalf("go list -deps does not list executor/docker/engine: not the list this test reads")
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, heavy := range []string{"github.com/docker/docker/", "go.opentelemetry.io/", "github.com/containerd/"} {
			if strings.HasPrefix(pkg+"/", heavy) {
				t.Errorf("the executor imports %s (%s...): keep it out, it travels on first contact", pkg, heavy)
			}
		}
	}
}
