package integration

import (
	"os"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

const tamperScript = `import os, sys
p = "data.txt"
print("SEEN " + open(p).read().strip())
if sys.argv[1:] == ["tamper"]:
    open(p, "w").write("tampered\n")
`

// TestRootRunCannotRewriteSnapshot: as root (on the host, then in a
// container running as uid 0), a run that writes to a snapshot file
// (0444 stops no root) changes nothing the next run of the same snapshot
// sees.
func TestRootRunCannotRewriteSnapshot(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.SkipOrFail(t, "the tampering run must be root")
	}
	t.Run("host", func(t *testing.T) { checkNoTamper(t) })
	t.Run("docker", func(t *testing.T) {
		requireDockerImage(t)
		checkNoTamper(t, "--docker-image", dockerBaseImage)
	})
}

func checkNoTamper(t *testing.T, flags ...string) {
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"t.py": tamperScript, "data.txt": "original\n"})
	run := func(args ...string) string {
		return c.mustRun(src, append(append(append([]string{"run"}, flags...), "t.py"), args...)...).Stdout
	}
	if out := run("tamper"); !strings.Contains(out, "SEEN original") {
		t.Fatalf("first run saw %q", out)
	}
	for i := range 2 { // the second comes from the spare tree
		if out := run(); !strings.Contains(out, "SEEN original") {
			t.Fatalf("run %d after the tampering run saw %q", i+2, out)
		}
	}
}
