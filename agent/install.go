package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/buildinfo"
	"github.com/ferry-ml/ferry/internal/units"
	"github.com/klauspost/compress/gzip"
)

// Installing the executor on first contact takes two remote processes
// and no SFTP session: ensureScript (conn.go) finds the version missing and
// prepares the state directory in the same process, then installScript
// receives the binary on its stdin (gzip-compressed where the target has
// gzip: a 9.8 MB binary travels as about 4 MB), lets it rename itself
// into place and starts it, printing the protocol line. On a link where
// each remote process costs a round trip or more and bytes are scarce,
// that is most of what first contact costs.

// missingExecutor is runEnsure's error when this version is not installed;
// it carries what ensureScript found out for the install.
type missingExecutor struct {
	stateDir string // resolved (pwd -P)
	machine  string // uname -m
	gzip     bool
}

func (m *missingExecutor) Error() string { return "executor not installed" }

// parseMissing reads ensureScript's last three lines of output (anything
// before them is shell start-up noise).
func (c *Conn) parseMissing(stdout []byte) error {
	lines := strings.Split(strings.TrimRight(string(stdout), "\n"), "\n")
	if len(lines) < 3 {
		return fmt.Errorf("prepare state directory on %s: unexpected output %q", c.Target.Name, stdout)
	}
	lines = lines[len(lines)-3:]
	return &missingExecutor{stateDir: lines[0], machine: strings.TrimSpace(lines[1]), gzip: lines[2] == "gzip"}
}

// installScript: $1 state dir (physical, checked by ensureScript), $2
// version, $3 temp name, $4 gzip|plain, $5 the sums ferry ships, $6 the
// idle timeout ("": the executor's default). The
// installed binary is checked as ensureScript checks it before it runs.
const installScript = safePathScript + `umask 077
d=$1; exe="$d/executor/$2/ferry-executor"; tmp="$d/tmp/.ferry-executor-$3"
if [ "$4" = gzip ]; then gzip -dc >"$tmp"; else cat >"$tmp"; fi || { rm -f "$tmp"; exit 1; }
chmod 700 "$tmp" && "$tmp" install --state-dir "$d" >&2 || { rm -f "$tmp"; exit 1; }
safe_exe "$exe" "$5" || refuse "$exe is not the build just sent"
exec "$exe" ensure --state-dir "$d" --idle-timeout "$6"`

// install sends the executor for the target's machine, installs and
// starts it, and returns its protocol line.
func (c *Conn) install(ctx context.Context, m *missingExecutor) (string, error) {
	arch := GoArch(m.machine)
	if c.Target.Type == compute.TypeLocal {
		arch = runtime.GOARCH
	}
	if arch == "" {
		return "", fmt.Errorf("compute target %s runs on %s, which ferry-executor is not built for (linux/amd64, linux/arm64)", c.Target.Name, m.machine)
	}
	bin, err := c.executorBinary(arch)
	if err != nil {
		return "", err
	}
	f, err := os.Open(bin)
	if err != nil {
		return "", fmt.Errorf("open executor binary: %w", err)
	}
	defer f.Close()
	level := c.compression()
	mode := "plain"
	var body io.Reader = f
	if m.gzip && level != api.CompressNone {
		var gz bytes.Buffer
		if err := gzipTo(&gz, f, level); err != nil {
			return "", err
		}
		mode, body = "gzip", &gz
	}
	sums, err := c.executorSums()
	if err != nil {
		return "", err
	}
	c.logger.Info("installing executor", "binary", bin, "to", m.stateDir, "encoding", mode)
	done := c.installNotice(body, mode)
	res, err := c.ep.ScriptInput(ctx, body, installScript, m.stateDir, buildinfo.String(), randHex(8), mode, strings.Join(sums, " "), c.opts.ExecutorIdleTimeout)
	if err != nil {
		return "", fmt.Errorf("install executor on %s: %w", c.Target.Name, err)
	}
	if res.ExitCode == exitUnsafe {
		return "", c.unsafeError(res.Stderr)
	}
	line, err := c.protocolLine(res, "install executor")
	if err == nil {
		done()
	}
	return line, err
}

// installNotice says that the executor is being installed, and how big
// what travels is; the returned func says it is done, and how long it
// took.
func (c *Conn) installNotice(body io.Reader, mode string) (done func()) {
	if c.opts.Notice == nil {
		return func() {}
	}
	size := "size unknown"
	switch b := body.(type) {
	case *bytes.Buffer:
		size = units.Bytes(int64(b.Len())) + " compressed"
	case *os.File:
		if fi, err := b.Stat(); err == nil {
			size = units.Bytes(fi.Size())
		}
	}
	start := time.Now()
	c.opts.Notice(fmt.Sprintf("installing executor %s on %s (%s)...", buildinfo.String(), c.Target.Name, size))
	return func() {
		c.opts.Notice(fmt.Sprintf("installed executor on %s in %s", c.Target.Name, time.Since(start).Round(100*time.Millisecond)))
	}
}

// gzipTo compresses r into w (the binary, about 4 MB compressed, is held
// in memory).
func gzipTo(w io.Writer, r io.Reader, level api.Compression) error {
	gz, err := gzip.NewWriterLevel(w, gzipLevel(level))
	if err != nil {
		return fmt.Errorf("compress executor: %w", err)
	}
	if _, err := io.Copy(gz, r); err != nil {
		return fmt.Errorf("compress executor: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("compress executor: %w", err)
	}
	return nil
}

func gzipLevel(level api.Compression) int {
	if level >= api.CompressMore {
		return gzip.DefaultCompression
	}
	return gzip.BestSpeed
}
