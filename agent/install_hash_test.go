package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/buildinfo"
	"github.com/ferry-ml/ferry/internal/testutil"
)

// TestEnsureScriptHashesWithOpensslOrSha256sum: the install and a start
// that finds no hash recorded take the binary's SHA-256 with openssl where
// there is one (faster: it uses the CPU's SHA instructions), else with
// sha256sum. An openssl that prints something else costs a second hash
// with sha256sum, not a refusal; with no sha256sum beside it, the binary
// is refused, never run.
func TestEnsureScriptHashesWithOpensslOrSha256sum(t *testing.T) {
	realOpenssl := testutil.RequireCommand(t, "openssl")
	for _, tc := range []struct {
		name       string
		openssl    string // the openssl on PATH: "real" (wrapped, logged), "wrong", "none"
		sha256sum  bool
		wantOK     bool
		wantCalled bool // openssl was run
	}{
		{"openssl preferred", "real", true, true, true},
		{"openssl only", "real", false, true, true},
		{"sha256sum only", "none", true, true, false},
		{"openssl printing a wrong hash", "wrong", true, true, true},
		{"openssl printing a wrong hash, no sha256sum", "wrong", false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "state")
			c := fakeInstallConn(t, state)
			c.rememberRate(1<<30, 1e9) // sent as it is: no decoder needed
			calls := filepath.Join(t.TempDir(), "openssl-calls")
			t.Setenv("PATH", hashPath(t, tc.openssl, realOpenssl, calls, tc.sha256sum))
			exe := filepath.Join(state, "executor", buildinfo.String(), "ferry-executor")

			_, err := c.startExecutor(t.Context())
			_, called := os.Stat(calls)
			if (called == nil) != tc.wantCalled {
				t.Errorf("openssl run: %v, want %v", called == nil, tc.wantCalled)
			}
			if !tc.wantOK {
				if err == nil || !strings.Contains(err.Error(), "not a build ferry ships") {
					t.Fatalf("install with no working hash: %v, want a refusal", err)
				}
				if _, err := os.Stat(exe); err == nil {
					t.Fatal("an unverified binary was installed")
				}
				return
			}
			if err != nil {
				t.Fatalf("install: %v", err)
			}
			rec, err := os.ReadFile(exe + ".verified")
			want, herr := hashFile(exe)
			if herr != nil {
				t.Fatal(herr)
			}
			if err != nil || !strings.HasSuffix(strings.TrimSpace(string(rec)), " "+want) {
				t.Fatalf("hash recorded at install: %q, %v; want one ending in %s", rec, err, want)
			}
			// A start that finds no hash recorded takes it the same way.
			os.Remove(exe + ".verified")
			os.Remove(calls)
			if _, err := c.startExecutor(t.Context()); err != nil {
				t.Fatalf("start with no hash recorded: %v", err)
			}
			if rec, err := os.ReadFile(exe + ".verified"); err != nil || !strings.HasSuffix(strings.TrimSpace(string(rec)), " "+want) {
				t.Fatalf("hash recorded at start: %q, %v", rec, err)
			}
			if _, called := os.Stat(calls); (called == nil) != tc.wantCalled {
				t.Errorf("start: openssl run: %v, want %v", called == nil, tc.wantCalled)
			}
		})
	}
}

// hashPath returns a PATH of this PATH's programs without openssl and,
// unless keepSum, sha256sum; openssl is then "real" (the real one,
// logging each call to calls), "wrong" (prints a hash of nothing, logging
// too) or "none".
func hashPath(t *testing.T, openssl, real, calls string, keepSum bool) string {
	t.Helper()
	dir := pathWithout(t, "openssl")
	if !keepSum {
		os.Remove(filepath.Join(dir, "sha256sum"))
	}
	var script string
	switch openssl {
	case "real":
		script = "#!/bin/sh\necho \"$*\" >>" + calls + "\nexec " + real + " \"$@\"\n"
	case "wrong":
		script = "#!/bin/sh\necho \"$*\" >>" + calls + "\ncat >/dev/null\necho '" + strings.Repeat("0", 64) + " *stdin'\n"
	}
	if script != "" {
		if err := os.WriteFile(filepath.Join(dir, "openssl"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
