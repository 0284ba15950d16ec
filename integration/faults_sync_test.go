package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/snapshot"
)

// TestFaultConcurrentSync: two agents (two laptops: two FERRY_HOMEs) run
// the same project on one target at once, both against a cold target, so
// that they also race to install and start its executor. Both runs
// succeed and see exactly the project's files, one executor serves the
// target, and its blob store holds only whole blobs that match their ids.
func TestFaultConcurrentSync(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	state := stateDir(t)
	agents := []*cli{newCLI(t), newCLI(t)}
	for _, c := range agents {
		c.mustRun("", "compute", "attach", "box", "--address", s.Host, "--port", strconv.Itoa(s.Port),
			"--username", s.User, "--private-key", s.KeyFile, "--known-hosts", s.KnownHosts, "--state-dir", state)
	}
	src := shortDir(t)
	files := writeTestTree(t, src, 600, 4<<10, 6<<20, 6<<20, 6<<20)
	testutil.WriteTree(t, src, testutil.Tree{"hashes.py": hashScript})
	want := localHashes(t, src, files)

	results := make([]result, len(agents))
	var wg sync.WaitGroup
	for i, c := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.run("", "run", "--compute", "box", "--source", src, "hashes.py")
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.Code != 0 {
			t.Errorf("agent %d: exit %d\nstderr:\n%s", i, r.Code, r.Stderr)
			continue
		}
		got := parseHashes(r.Stdout)
		for f, h := range want {
			if got[f] != h {
				t.Errorf("agent %d's run sees %q as %q, want %s", i, f, got[f], h[:12])
			}
		}
	}
	if n := checkBlobStore(t, state); n < len(want) {
		t.Errorf("%d blobs in the store, want at least %d", n, len(want))
	}
	if pids := pidsMatching(t, "serve --state-dir "+state+" "); len(pids) != 1 {
		t.Errorf("%d executors serve the target (pids %v), want 1", len(pids), pids)
	}
}

func parseHashes(stdout string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if sum, path, ok := strings.Cut(line, " "); ok {
			out[path] = sum
		}
	}
	return out
}

// checkBlobStore hashes every blob under state/blobs, fails the test on
// any whose content does not match its name, and on anything left in
// the store's temp folders. It returns the number of blobs.
func checkBlobStore(t *testing.T, state string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(state, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != d.Name() {
			t.Errorf("blob %s holds content hashing to %x", d.Name(), sum[:6])
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"tmp", "incoming"} {
		left, _ := filepath.Glob(filepath.Join(state, dir, "*"))
		if len(left) > 0 {
			t.Errorf("left in %s/: %v", dir, left)
		}
	}
	return n
}

// TestFaultFileChangesWhileHashed: a big file is rewritten in place, over
// and over, while ferry syncs the project. Each sync either records a
// state the file really had, under the hash of exactly that content, or
// fails with an error that names the file; the target never stores
// content that does not match its hash. Once the file is still, a sync
// records its final content.
func TestFaultFileChangesWhileHashed(t *testing.T) {
	c := newCLI(t)
	ft := attachFault(t, c, testutil.SSHDOptions{}, false)
	src := shortDir(t)
	const size = 16 << 20
	big := filepath.Join(src, "big.bin")
	testutil.WriteTree(t, src, testutil.Tree{"a.txt": "a"})
	if err := os.WriteFile(big, bytes.Repeat([]byte{1}, size), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	last := make(chan byte)
	go func() { last <- rewriteLoop(ctx, big, size) }()
	var ok, refused int
	for range 6 {
		r := c.run("", "sync", "--compute", "box", "--source", src, "--json")
		if r.Code != 0 {
			refused++
			t.Logf("refused: %s", lastLine(r.Stderr))
			if end := lastLine(r.Stderr); !strings.Contains(end, "big.bin") || !strings.Contains(end, "chang") {
				t.Errorf("sync of a changing file failed unclearly: %q\nstderr:\n%s", end, r.Stderr)
			}
			continue
		}
		ok++
		checkRecorded(t, ft.state, decodeSync(t, r.Stdout).Snapshot, size, -1)
	}
	stop()
	final := <-last
	t.Logf("while the file changed: %d syncs recorded it, %d refused", ok, refused)
	checkBlobStore(t, ft.state)
	res := c.sync("box", src)
	checkRecorded(t, ft.state, res.Snapshot, size, int(final))
}

// rewriteLoop rewrites path in place (same size, same inode) with byte
// 2, 3, ... in 1 MiB writes, pausing between passes, until ctx ends; it
// returns the byte of the last complete pass.
func rewriteLoop(ctx context.Context, path string, size int) byte {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	done := byte(1)
	for v := byte(2); ; v = v%250 + 1 {
		chunk := bytes.Repeat([]byte{v}, 1<<20)
		for off := 0; off < size; off += len(chunk) {
			if _, err := f.WriteAt(chunk, int64(off)); err != nil {
				panic(err)
			}
		}
		done = v
		select {
		case <-ctx.Done():
			return done
		case <-time.After(150 * time.Millisecond):
		}
	}
}

// checkRecorded reads snapshot id's manifest on the target and checks the
// blob of big.bin: it matches its id, and it is a state the file had (a
// newer pass over a prefix, an older one after it); with want >= 0, all
// of it is byte want.
func checkRecorded(t *testing.T, state, id string, size, want int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(state, "snapshots", id))
	if err != nil {
		t.Fatalf("manifest of synced snapshot %s: %v", id, err)
	}
	m, _, err := snapshot.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range m.Entries {
		if e.Path != "big.bin" {
			continue
		}
		blob, err := os.ReadFile(filepath.Join(state, "blobs", e.Blob.String()[:2], e.Blob.String()))
		if err != nil {
			t.Fatalf("blob of big.bin: %v", err)
		}
		if sum := sha256.Sum256(blob); snapshot.BlobID(sum) != e.Blob || len(blob) != size {
			t.Fatalf("big.bin recorded as %s, but its stored content (%d bytes) hashes to %x", e.Blob.Short(), len(blob), sum[:6])
		}
		if !realState(blob, want) {
			t.Errorf("big.bin recorded in a state it never had (first byte %d, last %d, want %d)", blob[0], blob[len(blob)-1], want)
		}
		return
	}
	t.Fatalf("snapshot %s has no big.bin", id)
}

// realState reports whether b is byte v+1 over a prefix and v after it
// (v+1 everywhere or v everywhere included), or all want when want >= 0.
func realState(b []byte, want int) bool {
	if want >= 0 {
		return len(bytes.Trim(b, string([]byte{byte(want)}))) == 0
	}
	newer := b[0]
	i := len(b) - len(bytes.TrimLeft(b, string([]byte{newer})))
	rest := b[i:]
	return len(rest) == 0 || (len(bytes.Trim(rest, string([]byte{rest[0]}))) == 0 && (rest[0]%250)+1 == newer)
}
