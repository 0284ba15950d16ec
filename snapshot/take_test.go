package snapshot

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/hashicorp/go-hclog"
)

// lstatWalk builds the walk result for paths under root with os.Lstat, so
// that hashing is tested apart from Walk.
func lstatWalk(t testing.TB, root string, paths ...string) []WalkEntry {
	t.Helper()
	slices.Sort(paths)
	out := make([]WalkEntry, 0, len(paths))
	for _, p := range paths {
		fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, WalkEntry{Path: p, Info: fi})
	}
	return out
}

// takeFor runs takeWalked on paths with racy window racy.
func takeFor(t *testing.T, root string, opts Options, racy time.Duration, paths ...string) (*Manifest, Stats) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = hclog.New(&hclog.LoggerOptions{Output: t.Output(), Level: hclog.Trace})
	}
	m, st, err := takeWalked(t.Context(), root, lstatWalk(t, root, paths...), opts, time.Now(), racy, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m, st
}

func sum(s string) BlobID { return sha256.Sum256([]byte(s)) }

func TestTakeHashesFilesAndSymlinks(t *testing.T) {
	root := t.TempDir()
	testutil.WriteTree(t, root, testutil.Tree{
		"a.py": "print(1)\n", "d/big.bin": string(make([]byte, 3*hashBufSize+17)),
		"d/empty": "", "d/link": "->../a.py", "dangling": "->/nowhere",
	})
	if err := os.Chmod(filepath.Join(root, "a.py"), 0o4755); err != nil {
		t.Fatal(err)
	}
	m, st := takeFor(t, root, Options{Workers: 3}, 0, "a.py", "d/big.bin", "d/empty", "d/link", "dangling")
	want := []Entry{
		{Path: "a.py", Mode: 0o755, Size: 9, Blob: sum("print(1)\n")},
		{Path: "d/big.bin", Mode: 0o644, Size: 3*hashBufSize + 17, Blob: sum(string(make([]byte, 3*hashBufSize+17)))},
		{Path: "d/empty", Mode: 0o644, Blob: sum("")},
		{Path: "d/link", Mode: fs.ModeSymlink | 0o777, Size: 7, Blob: sum("../a.py"), Link: "../a.py"},
		{Path: "dangling", Mode: fs.ModeSymlink | 0o777, Size: 8, Blob: sum("/nowhere"), Link: "/nowhere"},
	}
	slices.SortFunc(want, func(a, b Entry) int { return compareString(a.Path, b.Path) })
	if !slices.Equal(m.Entries, want) {
		t.Fatalf("entries:\n got %+v\nwant %+v", m.Entries, want)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if st.Files != 5 || st.Hashed != 5 || st.Cached != 0 || st.Bytes != m.Bytes() || st.HashedBytes != m.Bytes() {
		t.Fatalf("stats = %+v", st)
	}
}

func compareString(a, b string) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

func TestTakeStatCache(t *testing.T) {
	root, cache := t.TempDir(), filepath.Join(t.TempDir(), "cache", "stat")
	testutil.WriteTree(t, root, testutil.Tree{"a": "aaaa", "b": "bbbb", "c/d": "dddd", "l": "->a"})
	paths := []string{"a", "b", "c/d", "l"}
	opts := Options{CacheDir: cache}
	first, st := takeFor(t, root, opts, 0, paths...)
	if st.Hashed != 4 || st.Cached != 0 {
		t.Fatalf("first run stats = %+v, want all hashed", st)
	}
	cf := cacheFile(cache, root)
	before := statOf(t, cf)
	if before.Mode().Perm() != 0o600 || statOf(t, cache).Mode().Perm() != 0o700 {
		t.Fatalf("cache modes %v / %v, want 0600 file in 0700 dir", before.Mode(), statOf(t, cache).Mode())
	}

	second, st := takeFor(t, root, opts, 0, paths...)
	if st.Cached != 3 || st.Hashed != 1 { // the symlink is always read
		t.Fatalf("warm stats = %+v, want 3 cached", st)
	}
	if second.ID() != first.ID() {
		t.Fatal("warm snapshot differs")
	}
	if !os.SameFile(before, statOf(t, cf)) {
		t.Fatal("cache rewritten although nothing changed")
	}

	// Same size, mtime put back: only ctime tells, and it must.
	p := filepath.Join(root, "b")
	if err := os.WriteFile(p, []byte("BBBB"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, before.ModTime(), statOf(t, filepath.Join(root, "a")).ModTime()); err != nil {
		t.Fatal(err)
	}
	third, st := takeFor(t, root, opts, 0, paths...)
	if st.Cached != 2 || st.Hashed != 2 {
		t.Fatalf("after edit stats = %+v, want b re-hashed", st)
	}
	if got := third.Entries[1]; got.Path != "b" || got.Blob != sum("BBBB") {
		t.Fatalf("b = %+v, want the new content's hash", got)
	}
	if os.SameFile(before, statOf(t, cf)) {
		t.Fatal("cache not rewritten after a change")
	}

	// A removed file also rewrites the cache; the next run is fully cached.
	takeFor(t, root, opts, 0, "a", "b", "l")
	_, st = takeFor(t, root, opts, 0, "a", "b", "l")
	if st.Cached != 2 || st.Hashed != 1 {
		t.Fatalf("after removal stats = %+v", st)
	}
}

func statOf(t *testing.T, p string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// TestTakeRacyEntriesRehashed: files written moments before the scan are
// not trusted from the cache (git's racy-clean problem), and once the
// watermark has moved past them they are.
func TestTakeRacyEntriesRehashed(t *testing.T) {
	root, cache := t.TempDir(), t.TempDir()
	testutil.WriteTree(t, root, testutil.Tree{"a": "1", "b": "2"})
	opts := Options{CacheDir: cache}
	takeFor(t, root, opts, racyWindow, "a", "b")
	_, st := takeFor(t, root, opts, racyWindow, "a", "b")
	if st.Cached != 0 || st.Hashed != 2 {
		t.Fatalf("racy stats = %+v, want both re-hashed", st)
	}
	// Age the files (mtime only; ctime stays new, so still racy).
	old := time.Now().Add(-time.Hour)
	for _, p := range []string{"a", "b"} {
		if err := os.Chtimes(filepath.Join(root, p), old, old); err != nil {
			t.Fatal(err)
		}
	}
	_, st = takeFor(t, root, opts, racyWindow, "a", "b")
	if st.Cached != 0 {
		t.Fatalf("stats = %+v: a new ctime must keep entries racy", st)
	}
}

func TestTakeCorruptCacheIgnored(t *testing.T) {
	root, cache := t.TempDir(), t.TempDir()
	testutil.WriteTree(t, root, testutil.Tree{"a": "1", "b": "2"})
	opts := Options{CacheDir: cache}
	want, _ := takeFor(t, root, opts, 0, "a", "b")
	cf := cacheFile(cache, root)
	data, err := os.ReadFile(cf)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(cf, data, 0o600); err != nil {
		t.Fatal(err)
	}
	got, st := takeFor(t, root, opts, 0, "a", "b")
	if st.Hashed != 2 || got.ID() != want.ID() {
		t.Fatalf("stats = %+v, want a full re-hash with the same id", st)
	}
}

func TestTakeVanishedFileLeftOut(t *testing.T) {
	root := t.TempDir()
	testutil.WriteTree(t, root, testutil.Tree{"a": "1", "gone": "2", "z": "3"})
	walked := lstatWalk(t, root, "a", "gone", "z")
	if err := os.Remove(filepath.Join(root, "gone")); err != nil {
		t.Fatal(err)
	}
	m, st, err := takeWalked(t.Context(), root, walked, Options{}, time.Now(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Files() != 2 || m.Entries[0].Path != "a" || m.Entries[1].Path != "z" || st.Files != 2 {
		t.Fatalf("entries = %+v, want a and z", m.Entries)
	}
}

// TestTakeRereadsChangedFile: the walk saw another version of the file; the
// hash must be of what is there now, under the stat key it has now.
func TestTakeRereadsChangedFile(t *testing.T) {
	root, cache := t.TempDir(), t.TempDir()
	testutil.WriteTree(t, root, testutil.Tree{"f": "short", "s": "regular"})
	walked := lstatWalk(t, root, "f", "s")
	if err := os.WriteFile(filepath.Join(root, "f"), []byte("much longer now"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A file swapped for a symlink to outside is recorded as the link, never followed.
	if err := os.Remove(filepath.Join(root, "s")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "s")); err != nil {
		t.Fatal(err)
	}
	m, _, err := takeWalked(t.Context(), root, walked, Options{CacheDir: cache}, time.Now(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := m.Entries[0]; e.Blob != sum("much longer now") || e.Size != 15 {
		t.Fatalf("f = %+v, want the current content", e)
	}
	if e := m.Entries[1]; e.Link != "/etc/passwd" || !e.IsSymlink() {
		t.Fatalf("s = %+v, want the symlink", e)
	}
	// The cache holds the key the content was read under: a rerun trusts it.
	_, st := takeFor(t, root, Options{CacheDir: cache}, 0, "f", "s")
	if st.Cached != 1 {
		t.Fatalf("stats = %+v, want f cached under its new key", st)
	}
}

func TestTakeCanceled(t *testing.T) {
	root := t.TempDir()
	testutil.WriteTree(t, root, testutil.Tree{"a": "1", "b": "2"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := takeWalked(ctx, root, lstatWalk(t, root, "a", "b"), Options{}, time.Now(), 0, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestTakeEndToEnd(t *testing.T) {
	root, cache := t.TempDir(), t.TempDir()
	testutil.WriteTree(t, root, testutil.Tree{
		".gitignore": "*.pyc\nbuild/\n", "train.py": "x", "m/__init__.py": "",
		"m/x.pyc": "junk", "build/out": "junk", ".git/HEAD": "ref",
	})
	m, st, err := Take(t.Context(), root, Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range m.Entries {
		paths = append(paths, e.Path)
	}
	if want := []string{".gitignore", "m/__init__.py", "train.py"}; !slices.Equal(paths, want) {
		t.Fatalf("paths = %q, want %q", paths, want)
	}
	if st.Files != 3 || st.Duration <= 0 {
		t.Fatalf("stats = %+v", st)
	}
	if _, err := os.Stat(cacheFile(cache, root)); err != nil {
		t.Fatalf("no stat cache written: %v", err)
	}
	if _, _, err := Take(t.Context(), filepath.Join(root, "missing"), Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing root: err = %v, want fs.ErrNotExist", err)
	}
}

// TestTakeUnreadableFileIsError: an included file that cannot be read is an
// error naming it. Root reads anything, so as root the check runs in a copy
// of this test binary started as nobody.
func TestTakeUnreadableFileIsError(t *testing.T) {
	if dir := os.Getenv("FERRY_TEST_UNREADABLE_DIR"); dir != "" {
		_, _, err := takeWalked(context.Background(), dir, lstatWalk(t, dir, "ok", "secret"), Options{}, time.Now(), 0, nil)
		if err == nil {
			t.Fatal("no error")
		}
		os.Stdout.WriteString("ERR: " + err.Error() + "\n")
		return
	}
	root := t.TempDir()
	testutil.WriteTree(t, root, testutil.Tree{"ok": "1", "secret": "2"})
	if err := os.Chmod(filepath.Join(root, "secret"), 0); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		_, _, err := takeWalked(t.Context(), root, lstatWalk(t, root, "ok", "secret"), Options{}, time.Now(), 0, nil)
		if err == nil || !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "secret") {
			t.Fatalf("err = %v, want a permission error naming secret", err)
		}
		return
	}
	out := runAsNobody(t, root, "-test.run=^TestTakeUnreadableFileIsError$")
	if !strings.Contains(out, "ERR: hash secret:") || !strings.Contains(out, "permission denied") {
		t.Fatalf("helper output %q, want a permission error naming secret", out)
	}
}

// runAsNobody runs a copy of the test binary as uid/gid 65534 with
// FERRY_TEST_UNREADABLE_DIR=dir and returns its output.
func runAsNobody(t *testing.T, dir string, args ...string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "snapshot.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Dir(dir), filepath.Dir(bin), filepath.Dir(filepath.Dir(bin))} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = append(os.Environ(), "FERRY_TEST_UNREADABLE_DIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper as nobody: %v\n%s", err, out)
	}
	return string(out)
}

// TestTakeWarmPlansInHalves: a tree past planSplit is planned on two
// goroutines, the second half's stat cache cursor found by binary search.
// Files changed in either half, one on each side of the split, and one
// gone are seen exactly; the rest come from the cache; the manifest is
// the one a cold snapshot takes.
func TestTakeWarmPlansInHalves(t *testing.T) {
	root, cache := t.TempDir(), t.TempDir()
	tree := testutil.Tree{}
	n := planSplit + 1000
	for i := range n {
		tree[fmt.Sprintf("d%d/f%05d.py", i%7, i)] = fmt.Sprint(i)
	}
	testutil.WriteTree(t, root, tree)
	take := func(opts Options) (*Manifest, Stats) { return walkAndTake(t, root, opts) }
	if _, st := take(Options{CacheDir: cache}); st.Hashed != n {
		t.Fatalf("first snapshot hashed %d files, want %d", st.Hashed, n)
	}
	walked, _ := Walk(root, WalkOptions{})
	mid := walked[n/2].Path
	changed := []string{walked[3].Path, walked[n/2-1].Path, mid, walked[n-2].Path}
	for _, p := range changed {
		testutil.WriteTree(t, root, testutil.Tree{p: "changed " + p})
	}
	if err := os.Remove(filepath.Join(root, walked[n/2+1].Path)); err != nil {
		t.Fatal(err)
	}
	m, st := take(Options{CacheDir: cache})
	if st.Hashed != len(changed) || st.Cached != n-1-len(changed) {
		t.Fatalf("warm snapshot hashed %d and took %d from the cache, want %d and %d", st.Hashed, st.Cached, len(changed), n-1-len(changed))
	}
	cold, _ := take(Options{})
	if m.ID() != cold.ID() || len(m.Entries) != n-1 {
		t.Fatalf("warm manifest (%d entries) differs from a cold one (%d)", len(m.Entries), len(cold.Entries))
	}
}

// walkAndTake walks root and snapshots it with no racy window (files
// written just before count as old).
func walkAndTake(tb testing.TB, root string, opts Options) (*Manifest, Stats) {
	tb.Helper()
	walked, err := Walk(root, WalkOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	m, st, err := takeWalked(tb.Context(), root, walked, opts, time.Now(), 0, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return m, st
}
