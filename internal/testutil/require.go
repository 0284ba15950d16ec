package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// SkipOrFail skips the test with reason, unless FERRY_TEST_DISALLOW_SKIP is
// set (as CI does), in which case the missing prerequisite fails the test:
// an integration test must never pass silently by not running.
func SkipOrFail(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("FERRY_TEST_DISALLOW_SKIP") != "" {
		t.Fatalf("prerequisite missing (skips are disallowed here): %s", reason)
	}
	t.Skip(reason)
}

// RequireCommand returns the path of name on PATH, or skips/fails the test.
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		SkipOrFail(t, name+" not found on PATH (make test-deps installs it)")
	}
	return p
}
