package integration

import (
	"regexp"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// TestDiagnosticsFormat: ferry's diagnostics reach stderr in its own
// format ("ferry: info: conn: installing executor: ..."), with no
// timestamp or "[INFO]" tag, apart from the script's output on stdout;
// --log-json keeps them as JSON lines.
func TestDiagnosticsFormat(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"t.py": "print('script output')\n"})
	r := c.mustRun(src, "--log-level", "info", "run", "t.py")
	if !strings.Contains(r.Stderr, "\nferry: info: conn: installing executor: ") || strings.Contains(r.Stderr, "[INFO]") ||
		regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d`).MatchString(r.Stderr) || r.Stdout != "script output\n" {
		t.Errorf("diagnostics not in ferry's format, or not apart from the script's output:\nstdout:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
	}
	c2 := newCLI(t)
	j := c2.mustRun(src, "--log-level", "info", "--log-json", "run", "t.py")
	if !strings.Contains(j.Stderr, `{"@level":"info"`) {
		t.Errorf("--log-json: stderr:\n%s", j.Stderr)
	}
}
