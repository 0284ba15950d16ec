package agent

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/buildinfo"
	"github.com/ferry-ml/ferry/internal/execpack"
	"github.com/hashicorp/go-hclog"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// fakeExecutor stands in for ferry-executor in the install scripts: its
// "install" renames itself to executor/<version>/ferry-executor, as the
// real one does, and "ensure" prints a protocol line naming the socket.
const fakeExecutor = `#!/bin/sh
case $1 in
install) mkdir -p "$3/executor/` + "VERSION" + `" && mv "$0" "$3/executor/` + "VERSION" + `/ferry-executor" && echo installed
	[ "$4" = --ensure ] && echo "` + api.Magic + ` PROTO VERSION $3/executor.sock" ;;
ensure) echo "noise from an rc file"; echo "` + api.Magic + ` PROTO VERSION $3/executor.sock" ;;
esac
`

// TestInstallScripts runs ensureScript through the local endpoint with a
// fake executor: first contact finds it missing and asks for it, and the
// binary (gzip-compressed on stdin, and plain) goes to the same process,
// which installs and starts it; the next start finds it installed. Only
// the protocol line is taken from output with noise around it.
func TestInstallScripts(t *testing.T) {
	for _, level := range []api.Compression{api.CompressFast, api.CompressNone} {
		state := filepath.Join(t.TempDir(), "state")
		c := fakeInstallConn(t, state)
		if level == api.CompressNone {
			c.rememberRate(1<<30, 1e9) // a fast link: sent as it is
		}
		var notices []string
		c.opts.Notice = func(msg string) { notices = append(notices, msg) }
		line, err := c.startExecutor(t.Context())
		want := api.Magic + " 2 " + buildinfo.String() + " " + state + "/executor.sock"
		if err != nil || line != want {
			t.Fatalf("first start (level %d): %q, %v; want %q", level, line, err, want)
		}
		if len(notices) != 2 || !strings.HasPrefix(notices[0], "installing executor") || !strings.Contains(notices[1], "sent)") {
			t.Errorf("notices: %q", notices)
		}
		if fi, err := os.Stat(filepath.Join(state, "executor", buildinfo.String(), "ferry-executor")); err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("installed binary: %v, %v", fi, err)
		}
		notices = nil
		if line, err := c.startExecutor(t.Context()); err != nil || line != want {
			t.Fatalf("start after install: %q, %v", line, err)
		}
		if len(notices) != 0 {
			t.Errorf("a second start installed again: %q", notices)
		}
		if ents, _ := os.ReadDir(filepath.Join(state, "tmp")); len(ents) != 0 {
			t.Errorf("temp files left: %v", ents)
		}
	}
}

// fakeInstallConn is a Conn to the local endpoint whose executor binaries
// are fakeExecutor, for a target whose state directory is state.
func fakeInstallConn(t *testing.T, state string) *Conn {
	t.Helper()
	bin := t.TempDir()
	fake := strings.NewReplacer("VERSION", buildinfo.String(), "PROTO", "2").Replace(fakeExecutor)
	if err := os.WriteFile(filepath.Join(bin, "ferry-executor-linux-amd64"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Symlink("ferry-executor-linux-amd64", filepath.Join(bin, "ferry-executor-linux-arm64"))
	return &Conn{Target: compute.Target{Name: "t", Type: compute.TypeRemote, StateDir: state}, ep: localEndpoint{},
		home: t.TempDir(), opts: ConnectOptions{ExecutorDir: bin}, logger: hclog.NewNullLogger()}
}

// TestEnsureScriptRefusesWhatItCannotVerify answers ensureScript by hand:
// a binary whose SHA-256 is not one of the sums is refused before it runs,
// a stdin that ends before the encoding line, or in the middle of the
// compressed binary (a cut link), ends the script; none leaves a temp file
// or an executor behind.
func TestEnsureScriptRefusesWhatItCannotVerify(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	for _, tc := range []struct {
		name  string
		stdin string
		exit  int
	}{
		{"wrong binary", "plain\n#!/bin/sh\ntouch " + marker + "\n", exitUnsafe},
		{"no answer", "", 1},
		{"stream cut short", "gzip\n" + cutGzip(t, 64<<10), 1},
		{"zstd stream cut short", "zstd\n" + cutZstd(t, 64<<10), 1},
	} {
		state := filepath.Join(t.TempDir(), "state")
		s, err := localEndpoint{}.Start(t.Context(), ensureScript, state, buildinfo.String(), strings.Repeat("ab", 32), "", "x")
		if err != nil {
			t.Fatal(err)
		}
		go func() { io.WriteString(s, tc.stdin); s.CloseStdin() }()
		out, _ := io.ReadAll(s.Stdout())
		res, err := s.Wait()
		if err != nil || res.ExitCode != tc.exit {
			t.Fatalf("%s: exit %d, %v (stdout %q, stderr %q), want %d", tc.name, res.ExitCode, err, out, res.Stderr, tc.exit)
		}
		if !strings.HasPrefix(string(out), installMarker+"\n"+state+"\n") {
			t.Errorf("%s: stdout %q, want the install request", tc.name, out)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("%s: the unverified binary ran", tc.name)
		}
		if ents, _ := os.ReadDir(filepath.Join(state, "tmp")); len(ents) != 0 {
			t.Errorf("%s: temp files left: %v", tc.name, ents)
		}
		if _, err := os.Stat(filepath.Join(state, "executor")); err == nil {
			t.Errorf("%s: an executor folder was made", tc.name)
		}
	}
}

// TestEnsureScriptRefusesAnUnwrittenBinary: the binary is hashed as it
// streams in, so a stream that hashes right but could not be written to
// the temp file (here a folder stands in its way) must still stop the
// install, and leave no mark behind.
func TestEnsureScriptRefusesAnUnwrittenBinary(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	bin := "#!/bin/sh\ntouch " + marker + "\n"
	sum := sha256.Sum256([]byte(bin))
	state := filepath.Join(t.TempDir(), "state")
	blocker := filepath.Join(state, "tmp", ".ferry-executor-x")
	if err := os.MkdirAll(blocker, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(os.Chmod(state, 0o700), os.Chmod(blocker, 0o750)); err != nil {
		t.Fatal(err)
	}
	s, err := localEndpoint{}.Start(t.Context(), ensureScript, state, buildinfo.String(), hex.EncodeToString(sum[:]), "", "x")
	if err != nil {
		t.Fatal(err)
	}
	go func() { io.WriteString(s, "plain\n"+bin); s.CloseStdin() }()
	out, _ := io.ReadAll(s.Stdout())
	res, err := s.Wait()
	if err != nil || res.ExitCode != 1 {
		t.Fatalf("exit %d, %v (stdout %q, stderr %q), want 1", res.ExitCode, err, out, res.Stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the binary ran")
	}
	if fi, err := os.Stat(blocker); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("the install went on past the failed write (the temp path: %v, %v)", fi, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(state, "tmp")); len(ents) != 1 || ents[0].Name() != ".ferry-executor-x" {
		t.Errorf("tmp/ holds %v, want only the folder in the way", ents)
	}
	if _, err := os.Stat(filepath.Join(state, "executor")); err == nil {
		t.Error("an executor folder was made")
	}
}

// TestInstallSweepsCutOffUploads: an install whose link dropped leaves its
// temp binary (the killed shell removes nothing); the next install removes
// those older than an hour and leaves a younger one, which may be another
// install in progress.
func TestInstallSweepsCutOffUploads(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	tmp := filepath.Join(state, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(state, 0o700)
	old, young := filepath.Join(tmp, ".ferry-executor-old"), filepath.Join(tmp, ".ferry-executor-young")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("half a binary"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	hours := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, hours, hours); err != nil {
		t.Fatal(err)
	}
	if _, err := fakeInstallConn(t, state).startExecutor(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); err == nil {
		t.Error("an upload cut off two hours ago is still there")
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("a recent upload (another install's, maybe) was removed: %v", err)
	}
}

// cutZstd returns the first half of a zstd stream of n random bytes.
func cutZstd(t *testing.T, n int) string {
	t.Helper()
	var b bytes.Buffer
	zw, _ := zstd.NewWriter(&b)
	data := make([]byte, n)
	rand.Read(data)
	zw.Write(data)
	zw.Close()
	return b.String()[:b.Len()/2]
}

// cutGzip returns the first half of a gzip stream of n random bytes.
func cutGzip(t *testing.T, n int) string {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	data := make([]byte, n)
	rand.Read(data)
	gz.Write(data)
	gz.Close()
	return b.String()[:b.Len()/2]
}

// TestEnsureScriptHashesAFileOnce: the install, and a start that hashes
// the installed binary, record the hash beside it with the file's
// identity, so the next start needs no sha256sum at all; a change to the file that keeps its size
// and mtime still changes its ctime, and the start hashes it again, finds
// it is not what ferry ships and installs over it.
func TestEnsureScriptHashesAFileOnce(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	c := fakeInstallConn(t, state)
	c.rememberRate(1<<30, 1e9)
	var notices []string
	c.opts.Notice = func(msg string) { notices = append(notices, msg) }
	exe := filepath.Join(state, "executor", buildinfo.String(), "ferry-executor")
	if _, err := c.startExecutor(t.Context()); err != nil { // installs
		t.Fatalf("install: %v", err)
	}
	fi, err := os.Stat(exe + ".verified")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the install recorded no hash beside the binary: %v, %v", fi, err)
	}

	path := os.Getenv("PATH")
	t.Setenv("PATH", pathWithout(t, "sha256sum"))
	for i := range 2 { // the install's record, then the same again
		if _, err := c.startExecutor(t.Context()); err != nil {
			t.Fatalf("start %d after the install, with no sha256sum: %v", i, err)
		}
	}
	os.Setenv("PATH", path)
	os.Remove(exe + ".verified")
	if _, err := c.startExecutor(t.Context()); err != nil { // hashes what it finds installed
		t.Fatalf("start with no hash recorded: %v", err)
	}
	if _, err := os.Stat(exe + ".verified"); err != nil {
		t.Fatalf("a start that hashed the binary recorded nothing: %v", err)
	}

	os.Setenv("PATH", path)
	old, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(exe)
	changed := bytes.Replace(old, []byte("echo installed"), []byte("echo INSTALLED"), 1)
	if err := os.WriteFile(exe, changed, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(exe, st.ModTime(), st.ModTime())
	notices = nil
	if _, err := c.startExecutor(t.Context()); err != nil {
		t.Fatalf("start after the binary changed: %v", err)
	}
	if len(notices) == 0 || !strings.HasPrefix(notices[0], "installing executor") {
		t.Fatalf("a binary changed in place (same size and mtime) was not installed again: %q", notices)
	}
	if now, _ := os.ReadFile(exe); !bytes.Equal(now, old) {
		t.Fatal("the changed binary is still installed")
	}
}

// pathWithout returns a PATH of one folder that links every program of
// this PATH except the one named.
func pathWithout(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if e.Name() != name {
				os.Symlink(filepath.Join(d, e.Name()), filepath.Join(dir, e.Name())) // first wins
			}
		}
	}
	return dir
}

// TestInstallSendsCompressedCopy: where the binary has the copies `make
// build` writes, first contact sends the zstd copy as it is when the
// target has zstd, the gzip copy when it has only gzip, and compresses on
// the fly when a copy is not of this binary (left from another build);
// each installs the binary itself.
func TestInstallSendsCompressedCopy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		noZstd   bool
		stale    bool
		wantMode string
		wantFile string // the copy's extension; "" for gzip on the fly
	}{
		{"zstd", false, false, "zstd", ".zst"},
		{"gzip only", true, false, "gzip", ".gz"},
		{"stale copies", false, true, "gzip", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "state")
			c := fakeInstallConn(t, state)
			bin := filepath.Join(c.opts.ExecutorDir, "ferry-executor-linux-amd64")
			padBinary(t, bin)
			if err := execpack.Write(bin); err != nil {
				t.Fatal(err)
			}
			if tc.stale {
				staleCopies(t, bin)
			}
			if tc.noZstd {
				t.Setenv("PATH", pathWithout(t, "zstd"))
			}
			var sent []string
			c.opts.Notice = func(msg string) { sent = append(sent, msg) }
			m := &missingExecutor{machine: "x86_64", encodings: []string{"zstd", "gzip", "plain"}}
			if tc.noZstd {
				m.encodings = m.encodings[1:]
			}
			send, err := c.installBinary(m)
			wantFile := ""
			if tc.wantFile != "" {
				wantFile = bin + tc.wantFile
			}
			if err != nil || send.mode != tc.wantMode || send.file != wantFile {
				t.Fatalf("installBinary = %+v, %v; want mode %s, file %q", send, err, tc.wantMode, wantFile)
			}
			if _, err := c.startExecutor(t.Context()); err != nil {
				t.Fatalf("install: %v", err)
			}
			installed, _ := os.ReadFile(filepath.Join(state, "executor", buildinfo.String(), "ferry-executor"))
			if want, _ := os.ReadFile(bin); !bytes.Equal(installed, want) {
				t.Fatalf("installed %d bytes, want the binary's %d", len(installed), len(want))
			}
			if len(sent) != 2 || !strings.Contains(sent[0], "sent "+tc.wantMode+"-compressed") {
				t.Errorf("notices %q: want the binary sent %s-compressed", sent, tc.wantMode)
			}
		})
	}
}

// padBinary makes the fake executor at bin big enough that its copies and
// its on-the-fly compression differ in size: text that compresses.
func padBinary(t *testing.T, bin string) {
	t.Helper()
	f, err := os.OpenFile(bin, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range 20000 {
		fmt.Fprintf(f, "# padding line %d of a shell script that stands in for the executor\n", i)
	}
}

// staleCopies replaces bin's copies by copies of another binary.
func staleCopies(t *testing.T, bin string) {
	t.Helper()
	other := filepath.Join(t.TempDir(), filepath.Base(bin))
	if err := os.WriteFile(other, []byte("#!/bin/sh\necho another build\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := execpack.Write(other); err != nil {
		t.Fatal(err)
	}
	for _, enc := range execpack.Encodings {
		if err := os.Rename(execpack.Path(other, enc), execpack.Path(bin, enc)); err != nil {
			t.Fatal(err)
		}
	}
}
