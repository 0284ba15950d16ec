package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// getPipeSize prints the size of the pipe on stdin (F_GETPIPE_SZ, 1032).
const getPipeSize = `-e 'print fcntl(STDIN, 1032, 0)'`

// TestWideStdin: wide_stdin makes the pipe on stdin hold 1 MiB where perl
// is installed, and succeeds, changing nothing, where perl is not or stdin
// is not a pipe.
func TestWideStdin(t *testing.T) {
	perl := testutil.RequireCommand(t, "perl")
	for _, tc := range []struct {
		name    string
		noPerl  bool
		notPipe bool
		want    string // pipe size after; "" where stdin is no pipe
	}{
		{"perl", false, false, "1048576"},
		{"no perl", true, false, "65536"},
		{"stdin a file", false, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			script := widePipeScript + "wide_stdin || exit 9\n" + perl + " " + getPipeSize
			cmd := exec.Command("/bin/sh", "-c", script)
			if tc.noPerl {
				cmd.Env = append(os.Environ(), "PATH="+pathWithout(t, "perl"))
			}
			if tc.notPipe {
				f, err := os.Open(os.DevNull)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				cmd.Stdin = f
			} else {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				defer r.Close()
				cmd.Stdin = r
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("wide_stdin: %v\n%s", err, out)
			}
			if got := strings.TrimSpace(string(out)); got != tc.want {
				t.Fatalf("pipe size after wide_stdin: %q, want %q", got, tc.want)
			}
		})
	}
}

// TestInstallDecodesFromAWidePipe: on first contact the decoder reads the
// binary from a stdin pipe that holds 1 MiB (a cat on PATH that reports
// the pipe it reads, then reads it: the binary is sent as it is here).
func TestInstallDecodesFromAWidePipe(t *testing.T) {
	perl := testutil.RequireCommand(t, "perl")
	realCat := testutil.RequireCommand(t, "cat")
	state := filepath.Join(t.TempDir(), "state")
	c := fakeInstallConn(t, state)
	c.rememberRate(1<<30, 1e9) // sent as it is: cat decodes
	dir := pathWithout(t, "cat")
	seen := filepath.Join(t.TempDir(), "pipe-size")
	wrapper := "#!/bin/sh\n" + perl + " " + getPipeSize + " >>" + seen + "\nexec " + realCat + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "cat"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	if _, err := c.startExecutor(t.Context()); err != nil {
		t.Fatalf("install: %v", err)
	}
	got, err := os.ReadFile(seen)
	if err != nil {
		t.Fatalf("the decoder never ran: %v", err)
	}
	if strings.TrimSpace(string(got)) != "1048576" {
		t.Fatalf("the decoder read a pipe of %q bytes, want 1048576", got)
	}
}
