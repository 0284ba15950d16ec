package integration

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// cli runs the real ferry binary with its own FERRY_HOME, as a user would.
type cli struct {
	t    testing.TB
	bin  string // directory with ferry and the executors
	home string // FERRY_HOME
	env  []string
}

// newCLI builds the binaries (once per process) and returns a CLI with a
// fresh FERRY_HOME. The home is short: the local executor's socket lives
// under it and unix socket paths are limited to 108 bytes.
func newCLI(t testing.TB) *cli {
	t.Helper()
	bin := testutil.Binaries(t)
	home, err := os.MkdirTemp("/tmp", "fh")
	if err != nil {
		t.Fatal(err)
	}
	c := &cli{t: t, bin: bin, home: home}
	t.Cleanup(func() {
		c.stopLocalExecutor()
		os.RemoveAll(home)
	})
	return c
}

type result struct {
	Stdout, Stderr string
	Code           int
}

// run executes ferry with args in dir and waits (at most 2 minutes).
func (c *cli) run(dir string, args ...string) result {
	c.t.Helper()
	return c.runWith(dir, nil, args...)
}

// runWith is run with stdin (nil: none).
func (c *cli) runWith(dir string, stdin io.Reader, args ...string) result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := c.command(ctx, dir, args...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("run ferry %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// mustRun is run that fails the test unless ferry exits 0.
func (c *cli) mustRun(dir string, args ...string) result {
	c.t.Helper()
	r := c.run(dir, args...)
	if r.Code != 0 {
		c.t.Fatalf("ferry %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// command returns an unstarted ferry command.
func (c *cli) command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, "ferry"), args...)
	cmd.Dir = dir
	// No keeper unless a test asks for one (keeper_test.go): a keeper would
	// outlive the test, holding connections to its sshd.
	cmd.Env = append(os.Environ(), "FERRY_HOME="+c.home, "FERRY_EXECUTOR_DIR="+c.bin, "FERRY_LOG_LEVEL=warn", "FERRY_NO_KEEPER=1")
	cmd.Env = append(cmd.Env, c.env...)
	return cmd
}

// stopLocalExecutor ends the local executor daemon started under home.
func (c *cli) stopLocalExecutor() {
	pids, _ := exec.Command("pgrep", "-f", "--", "--state-dir "+filepath.Join(c.home, "local")).Output()
	for _, f := range strings.Fields(string(pids)) {
		exec.Command("kill", f).Run()
	}
}
