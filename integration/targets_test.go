package integration

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// syncResult is the JSON of `ferry sync --json`.
type syncResult struct {
	Snapshot      string `json:"snapshot"`
	Files         int    `json:"files"`
	Bytes         int64  `json:"bytes"`
	UploadedFiles int    `json:"uploaded_files"`
	UploadedBytes int64  `json:"uploaded_bytes"`
	WireBytes     int64  `json:"wire_bytes"`
	ChunkedFiles  int    `json:"chunked_files"`
	UpToDate      bool   `json:"up_to_date"`
}

// shortDir returns a fresh directory under /tmp with a short name (socket
// paths under it must stay below 108 bytes), removed at cleanup.
func shortDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("/tmp", "fi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// stateDir returns a short directory for an executor on this machine
// (a loopback sshd target) and stops that executor at cleanup: a daemon
// outlives the session that started it, by design.
func stateDir(t testing.TB) string {
	t.Helper()
	d := shortDir(t)
	t.Cleanup(func() {
		pids, _ := exec.Command("pgrep", "-f", "--", "--state-dir "+d+"( |/|$)").Output()
		for _, pid := range strings.Fields(string(pids)) {
			exec.Command("kill", pid).Run()
		}
	})
	return d
}

// attachContainer attaches target ct as compute NAME with its key.
func (c *cli) attachContainer(name string, ct *testutil.ContainerTarget, extra ...string) {
	c.t.Helper()
	args := []string{"compute", "attach", name, "--address", ct.Host, "--port", strconv.Itoa(ct.Port),
		"--username", ct.User, "--private-key", ct.KeyFile, "--known-hosts", ct.KnownHosts}
	c.mustRun("", append(args, extra...)...)
}

// attachSSHD attaches sshd s as compute NAME with its key and a short
// state dir of its own.
func (c *cli) attachSSHD(name string, s *testutil.SSHD, extra ...string) {
	c.t.Helper()
	args := []string{"compute", "attach", name, "--address", s.Host, "--port", strconv.Itoa(s.Port),
		"--username", s.User, "--private-key", s.KeyFile, "--known-hosts", s.KnownHosts,
		"--state-dir", stateDir(c.t)}
	c.mustRun("", append(args, extra...)...)
}

// sync runs `ferry sync --json` and decodes its result; it fails the test
// unless ferry exits 0.
func (c *cli) sync(name, src string) syncResult {
	c.t.Helper()
	r := c.mustRun("", "sync", "--compute", name, "--source", src, "--json")
	return decodeSync(c.t, r.Stdout)
}

func decodeSync(t testing.TB, out string) syncResult {
	t.Helper()
	var res syncResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("decode sync JSON %q: %v", out, err)
	}
	return res
}

// writeTestTree writes n small files of size small, and the big files
// given by size, with random content, plus a .gitignore'd file, a
// symlink, an executable and a non-UTF-8 name. It returns the relative
// paths of the regular files included in the snapshot.
func writeTestTree(t testing.TB, dir string, n, small int, big ...int) []string {
	t.Helper()
	var files []string
	write := func(rel string, size int, mode os.FileMode) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, size)
		rand.Read(b)
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		files = append(files, rel)
	}
	for i := range n {
		write(fmt.Sprintf("d%02d/f%04d.bin", i%20, i), small, 0o644)
	}
	for i, size := range big {
		write(fmt.Sprintf("big/b%d.bin", i), size, 0o644)
	}
	write("run.sh", 0, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("caf\xe9.txt", 100, 0o644)
	testutil.WriteTree(t, dir, testutil.Tree{".gitignore": "*.ckpt\n", "model.ckpt": "ignored"})
	files = append(files, ".gitignore")
	if err := os.Symlink("run.sh", filepath.Join(dir, "link.sh")); err != nil {
		t.Fatal(err)
	}
	return files
}

// localHashes returns sha256 (hex) of each of files under dir.
func localHashes(t testing.TB, dir string, files []string) map[string]string {
	t.Helper()
	out := make(map[string]string, len(files))
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		out[f] = hex.EncodeToString(sum[:])
	}
	return out
}

// verifyBlobs hashes every blob in the target's store (stateDir, relative
// to the ferry user's home) and fails the test on any whose content does
// not match its name. It returns the set of blob ids present.
func verifyBlobs(t testing.TB, ct *testutil.ContainerTarget, stateDir string) map[string]bool {
	t.Helper()
	out := ct.Exec(t, "sh", "-c", `cd "$1/blobs" && find . -type f -exec sha256sum {} +`, "sh", stateDir)
	have := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		sum, path, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("bad sha256sum line %q", line)
		}
		name := filepath.Base(path)
		if sum != name {
			t.Errorf("blob %s on the target has content hashing to %s", name, sum)
		}
		have[name] = true
	}
	return have
}

// remoteHashes runs a script through `ferry run` on compute NAME that
// prints "sha256  path" for every regular file of the snapshot, and
// returns path → sha256.
func remoteHashes(t testing.TB, c *cli, name, src string) map[string]string {
	t.Helper()
	r := c.mustRun("", "run", "--compute", name, "--source", src, "hashes.py")
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		sum, path, ok := strings.Cut(line, " ")
		if ok {
			out[path] = sum
		}
	}
	return out
}

// hashScript is a Python script that prints "sha256 path" for each
// regular file under the working directory except itself and outputs/;
// non-UTF-8 names are printed as the raw bytes.
const hashScript = `import hashlib, os, sys
out = sys.stdout.buffer
for root, dirs, files in os.walk(b"."):
    dirs[:] = [d for d in dirs if d != b"outputs"]
    for f in files:
        p = os.path.join(root, f)
        if os.path.islink(p) or p == b"./hashes.py":
            continue
        with open(p, "rb") as fh:
            h = hashlib.sha256(fh.read()).hexdigest()
        out.write(h.encode() + b" " + p[2:] + b"\n")
out.write(b"%s EXEC:run.sh\n" % str(os.access("run.sh", os.X_OK)).encode())
`
