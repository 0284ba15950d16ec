package agent

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/buildinfo"
	"github.com/ferry-ml/ferry/internal/execpack"
	"github.com/ferry-ml/ferry/internal/units"
	"github.com/klauspost/compress/gzip"
)

// Starting the executor, and installing it on first contact, takes one
// remote process and no SFTP session: ensureScript starts the installed
// executor; when this version is missing it asks for the binary on its
// stdout, and the agent streams it on its stdin, in the same process.
// The 9.3 MB binary travels compressed where the link is not known to be
// fast: as the zstd copy `make build` writes beside it (about 3.3 MB) where
// the target has zstd, else as the gzip copy (3.9 MB) or gzip-compressed
// as it is read (4.5 MB). Where every remote process costs a login shell's
// start-up (a conda or pyenv hook in ~/.bashrc: 0.5 s and more) and a
// round trip, that is most of what first contact costs.

// installMarker is the line ensureScript prints when it needs the binary,
// before the resolved state directory, the machine and the encodings it
// takes ("zstd gzip plain", say).
const installMarker = "FERRY-EXECUTOR-MISSING"

// ensureScript starts the installed executor of version $2, once safe_exe
// has checked it against the sums ferry ships ($3), with idle timeout $4
// ("": its default), and prints its protocol line. When that version is
// missing (or not one ferry ships) it prepares the state directory, prints
// installMarker and what an install needs, then reads a line naming the
// encoding ("zstd", "gzip" or "plain"; anything else, or EOF, ends it) and the
// binary itself from stdin into the temp file named by $5. The binary runs
// only once its SHA-256 is one of $3; it moves itself into place and
// starts the daemon in the same process (install --ensure). The hash is
// then recorded beside it as safe_exe records one, so the next start finds
// it verified; a binary changed since is hashed again, as any binary found
// installed is.
const ensureScript = expandDir + safePathScript + widePipeScript + `safe_dir
exe="$d/executor/$2/ferry-executor"
if ! safe_exe "$exe" "$3"; then
	mkdir -p "$d/tmp" && chmod 700 "$d" "$d/tmp" || exit 1
	safe_dir
	echo ` + installMarker + `
	cd "$d" && pwd -P && uname -m || exit 1
	encs=; for z in zstd gzip; do command -v $z >/dev/null 2>&1 && encs="$encs$z "; done; echo "${encs}plain"
	wide_stdin
	IFS= read -r enc || exit 1
	umask 077
	# What an install cut off by a dropped link left (a killed shell cleans
	# nothing up); another install in progress is younger than an hour.
	find "$d/tmp" -maxdepth 1 -name '.ferry-executor-*' -mmin +60 -exec rm -f {} + 2>/dev/null
	tmp="$d/tmp/.ferry-executor-$5"
	case $enc in
	zstd) dec="zstd -dcq" ;;
	gzip) dec="gzip -dc" ;;
	plain) dec=cat ;;
	*) exit 1 ;;
	esac
	# One pass: the bytes are hashed as they are decoded and written, not
	# read back once the last one is in. A step that fails leaves a mark.
	sum=$( { $dec || : >"$tmp.bad"; } | { tee "$tmp" || : >"$tmp.bad"; } | sha256 ) ||
		{ rm -f "$tmp" "$tmp.bad"; refuse "cannot hash $tmp"; }
	if [ -e "$tmp.bad" ]; then rm -f "$tmp" "$tmp.bad"; exit 1; fi
	sum=${sum%% *}
	shipped_or_rehash "$tmp" "$3" || { rm -f "$tmp"; refuse "the executor binary received is not a build ferry ships (sha256 $sum)"; }
	chmod 700 "$tmp" && "$tmp" install --state-dir "$d" --ensure --idle-timeout "$4" || { rm -f "$tmp"; exit 1; }
	# The hash just taken, recorded as safe_exe records one, under the
	# identity the rename left: the next start needs no sha256sum.
	id=$(stat -c '%d:%i:%s:%.9Y:%.9Z' "$exe" 2>/dev/null) &&
		(umask 077 && printf '%s %s\n' "$id" "$sum" >"$exe.verified") 2>/dev/null
	exit 0
fi
exec "$exe" ensure --state-dir "$d" --idle-timeout "$4"`

// widePipeScript defines wide_stdin, which makes the pipe on stdin hold
// 1 MiB (F_SETPIPE_SZ, 1031) where stdin is a pipe and perl is installed
// (Debian and Ubuntu always have it: perl-base is essential). sshd writes
// a channel's data into the pipe to its command, and a pipe holds 64 KiB:
// a binary arriving faster than that piles up in sshd's own buffer, which
// grows to the channel's window (2 MiB) in 32 KiB steps, each a new
// allocation, a copy and a wipe of the old one (OpenSSH's sshbuf). Where
// page faults are dear, as on the VM of BENCHMARKS.md (10 us each), that
// took 0.3-0.4 s of first contact; with the wider pipe sshd keeps up. It
// runs while the agent's answer is on its way, and failing costs nothing.
const widePipeScript = `wide_stdin() {
	command -v perl >/dev/null 2>&1 && perl -e 'fcntl(STDIN, 1031, 1048576)' 2>/dev/null
	:
}
`

// missingExecutor is what ensureScript says an install needs.
type missingExecutor struct {
	stateDir  string   // resolved (pwd -P)
	machine   string   // uname -m
	encodings []string // what the target can decompress, and "plain"
}

func (m *missingExecutor) takes(enc string) bool { return slices.Contains(m.encodings, enc) }

// startExecutor runs ensureScript, sends the binary if it asks for it, and
// returns the executor's protocol line.
func (c *Conn) startExecutor(ctx context.Context) (string, error) {
	sums, err := c.executorSums()
	if err != nil {
		return "", err
	}
	s, err := c.ep.Start(ctx, ensureScript, c.stateDirSpec(), buildinfo.String(), strings.Join(sums, " "),
		c.opts.ExecutorIdleTimeout, randHex(8))
	if err != nil {
		return "", fmt.Errorf("start executor on %s: %w", c.Target.Name, err)
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	d := &ensureDialog{c: c, s: s}
	stdout, err := d.run()
	res, werr := s.Wait()
	s.Close()
	d.waitSend()
	switch {
	case ctx.Err() != nil:
		return "", fmt.Errorf("start executor on %s: %w", c.Target.Name, context.Cause(ctx))
	case err != nil:
		return "", err
	case werr != nil:
		return "", fmt.Errorf("%s on %s: %w", d.what(), c.Target.Name, werr)
	case res.ExitCode == exitUnsafe:
		return "", c.unsafeError(res.Stderr)
	}
	res.Stdout = stdout
	line, err := c.protocolLine(res, d.what())
	if err == nil && d.done != nil {
		d.done()
		c.noteInstallRate(d.counter.n, time.Since(d.started))
	}
	return line, err
}

// ensureDialog reads ensureScript's stdout and answers its request for the
// binary.
type ensureDialog struct {
	c       *Conn
	s       startedScript
	sent    chan error      // the send's outcome; nil when nothing was asked for
	done    func()          // the install notice's end
	counter *countingWriter // the binary's bytes sent
	started time.Time       // when the script asked for the binary
}

// maxEnsureOutput caps the stdout kept for the protocol line and errors
// (a login shell may print anything first).
const maxEnsureOutput = 1 << 20

// run reads stdout to its end, starting the binary's send when asked.
// Its error is the agent's own (no binary to send); the script's failures
// show in its exit status.
func (d *ensureDialog) run() ([]byte, error) {
	br := bufio.NewReader(d.s.Stdout())
	var out bytes.Buffer
	var err error
	for {
		line, rerr := br.ReadString('\n')
		if out.Len() < maxEnsureOutput {
			out.WriteString(line)
		}
		if line == installMarker+"\n" && d.sent == nil && err == nil {
			err = d.answer(br)
		}
		if rerr != nil {
			return out.Bytes(), err
		}
	}
}

// answer reads what the install needs and starts sending the binary; on
// an error it closes stdin, which ends the script.
func (d *ensureDialog) answer(br *bufio.Reader) error {
	var lines [3]string
	for i := range lines {
		l, err := br.ReadString('\n')
		if err != nil {
			d.s.CloseStdin()
			return fmt.Errorf("install executor on %s: the target stopped answering (%q)", d.c.Target.Name, l)
		}
		lines[i] = strings.TrimSuffix(l, "\n")
	}
	m := &missingExecutor{stateDir: lines[0], machine: strings.TrimSpace(lines[1]), encodings: strings.Fields(lines[2])}
	send, err := d.c.installBinary(m)
	if err != nil {
		d.s.CloseStdin()
		return err
	}
	d.c.logger.Info("installing executor", "binary", send.bin, "to", m.stateDir, "encoding", send.mode, "sent_as", send.file)
	d.sent = make(chan error, 1)
	d.counter = &countingWriter{w: d.s}
	d.started = time.Now()
	d.done = d.c.installNotice(send, d.counter)
	go func() { d.sent <- send.to(d.counter, d.s, d.c.compression()) }()
	return nil
}

// waitSend waits for the send to end (the script's end ends it).
func (d *ensureDialog) waitSend() {
	if d.sent != nil {
		if err := <-d.sent; err != nil {
			d.c.logger.Debug("sending the executor ended early", "error", err)
		}
	}
}

func (d *ensureDialog) what() string {
	if d.sent != nil {
		return "install executor"
	}
	return "start executor"
}

// binarySend is how the executor binary goes to the target.
type binarySend struct {
	bin  string // the binary
	mode string // the encoding line: "zstd", "gzip" or "plain"
	file string // what is sent as it is: bin, or its compressed copy; "" to gzip bin as it is read
}

// installBinary picks the binary for the target's machine and how it is
// sent: as it is where the link is known to be fast (decompressing costs
// more there than the bytes), else the best compressed copy the target
// can take, else gzip as it is read, else as it is.
func (c *Conn) installBinary(m *missingExecutor) (binarySend, error) {
	arch := GoArch(m.machine)
	if c.Target.Type == compute.TypeLocal {
		arch = runtime.GOARCH
	}
	if arch == "" {
		return binarySend{}, fmt.Errorf("compute target %s runs on %s, which ferry-executor is not built for (linux/amd64, linux/arm64)", c.Target.Name, m.machine)
	}
	bin, err := c.executorBinary(arch)
	if err != nil {
		return binarySend{}, err
	}
	send := binarySend{bin: bin, mode: "plain", file: bin}
	if c.compression() == api.CompressNone {
		return send, nil
	}
	for _, enc := range execpack.Encodings {
		if m.takes(enc) && c.copyMatches(bin, enc) {
			return binarySend{bin: bin, mode: enc, file: execpack.Path(bin, enc)}, nil
		}
	}
	if m.takes(execpack.Gzip) {
		return binarySend{bin: bin, mode: execpack.Gzip}, nil
	}
	return send, nil
}

// copyMatches reports whether bin's compressed copy in enc is there and
// decompresses to bin itself (a copy left from an earlier build does not).
func (c *Conn) copyMatches(bin, enc string) bool {
	path := execpack.Path(bin, enc)
	if _, err := os.Stat(path); err != nil {
		return false
	}
	want, err := shippedSums(c.sumsCache(), []string{bin})
	if err != nil {
		return false
	}
	got, err := copySum(c.sumsCache(), path, enc)
	if err != nil || got != want[0] {
		c.logger.Warn("not sending the executor's compressed copy: it is not this binary (make build writes it again)", "copy", path, "error", err)
		return false
	}
	return true
}

// to writes the encoding line and the binary to w (compressed as it is
// read, where no copy is sent, so that compression overlaps the link),
// then closes the script's stdin.
func (b binarySend) to(w io.Writer, s startedScript, level api.Compression) error {
	name := b.file
	if name == "" {
		name = b.bin
	}
	f, err := os.Open(name)
	if err != nil {
		s.CloseStdin()
		return fmt.Errorf("open executor binary: %w", err)
	}
	defer f.Close()
	if _, err := io.WriteString(w, b.mode+"\n"); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	if b.file == "" {
		err = gzipTo(bw, f, level)
	} else {
		_, err = io.Copy(bw, f)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		// A short binary must not look whole: end the script instead.
		s.Close()
		return err
	}
	return s.CloseStdin()
}

// installNotice says that the executor is being installed, and how big it
// is; the returned func says it is done, how long it took and how many
// bytes went.
func (c *Conn) installNotice(send binarySend, sent *countingWriter) (done func()) {
	if c.opts.Notice == nil {
		return func() {}
	}
	size := "size unknown"
	if fi, err := os.Stat(send.bin); err == nil {
		size = units.Bytes(fi.Size())
	}
	if send.mode != "plain" {
		size += ", sent " + send.mode + "-compressed"
	}
	start := time.Now()
	c.opts.Notice(fmt.Sprintf("installing executor %s on %s (%s)...", buildinfo.String(), c.Target.Name, size))
	return func() {
		c.opts.Notice(fmt.Sprintf("installed executor on %s in %s (%s sent)", c.Target.Name,
			time.Since(start).Round(100*time.Millisecond), units.Bytes(sent.n)))
	}
}

// gzipTo compresses r into w.
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
