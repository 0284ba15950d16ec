package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

const outputsModeScript = `import os
os.makedirs("outputs", exist_ok=True)
with open("outputs/big.bin", "wb") as f:
    f.write(b"x" * (3 << 20))
open("outputs/small.txt", "w").write("small\n")
for p in ("outputs/big.bin", "outputs/small.txt"):
    os.chmod(p, 0o777)
`

// TestOutputsSizeCapAndUmask: --max-output-size leaves the big file on
// the target and says so; the rest arrives with the umask applied to the
// target's 0777; a later download without a cap brings the rest.
func TestOutputsSizeCapAndUmask(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"out.py": outputsModeScript})
	r := c.mustRun(src, "run", "--max-output-size", "1MiB", "out.py")
	id := runIDOf(t, r.Stderr)
	if !strings.Contains(r.Stderr, "left on the target") || !strings.Contains(r.Stderr, "big.bin") {
		t.Errorf("run did not say what it left on the target:\n%s", r.Stderr)
	}
	to := filepath.Join(t.TempDir(), "out")
	c.mustRun(src, "download", id, "--to", to)
	if _, err := os.Stat(filepath.Join(to, "big.bin")); err == nil {
		t.Error("big.bin over the cap was written")
	}
	umask := currentUmask()
	st, err := os.Stat(filepath.Join(to, "small.txt"))
	if err != nil || st.Mode().Perm() != 0o777&^umask {
		t.Fatalf("small.txt mode %v (%v), want %v", st.Mode().Perm(), err, 0o777&^umask)
	}
	c.mustRun(src, "download", id, "--to", to, "--max-output-size", "0")
	if st, err := os.Stat(filepath.Join(to, "big.bin")); err != nil || st.Size() != 3<<20 {
		t.Fatalf("uncapped download: big.bin %v, %v", st, err)
	}
}

// currentUmask reads the process umask (setting it back at once).
func currentUmask() os.FileMode {
	m := syscall.Umask(0o022)
	syscall.Umask(m)
	return os.FileMode(m)
}
