package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

func TestWalkMissingRoot(t *testing.T) {
	_, err := Walk(filepath.Join(t.TempDir(), "nope"), WalkOptions{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Walk(missing) error = %v, want fs.ErrNotExist", err)
	}
}

func TestWalkRootIsFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	testutil.WriteTree(t, filepath.Dir(p), testutil.Tree{"f": "x"})
	if _, err := Walk(p, WalkOptions{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("Walk(file) error = %v, want not a directory", err)
	}
}

func TestWalkEntriesAreLstat(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteTree(t, dir, testutil.Tree{
		"a.py": "hello", "link": "->a.py", "dirlink": "->sub", "sub/b.py": "xy",
	})
	entries, err := Walk(dir, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]fs.FileInfo{}
	for _, e := range entries {
		got[e.Path] = e.Info
	}
	tests := []struct {
		path string
		mode fs.FileMode
		size int64
	}{
		{"a.py", 0, 5},
		{"link", fs.ModeSymlink, int64(len("a.py"))},
		{"dirlink", fs.ModeSymlink, int64(len("sub"))},
		{"sub/b.py", 0, 2},
	}
	for _, tt := range tests {
		fi, ok := got[tt.path]
		if !ok {
			t.Errorf("%s not listed; got %v", tt.path, entries)
			continue
		}
		if fi.Mode().Type() != tt.mode || fi.Size() != tt.size {
			t.Errorf("%s: type %v size %d, want %v %d", tt.path, fi.Mode().Type(), fi.Size(), tt.mode, tt.size)
		}
		if _, ok := fi.Sys().(*syscall.Stat_t); !ok {
			t.Errorf("%s: Sys() is %T, want *syscall.Stat_t", tt.path, fi.Sys())
		}
	}
	if len(entries) != len(tests) {
		t.Errorf("got %d entries, want %d (symlinked dir must not be followed)", len(entries), len(tests))
	}
}

func TestWalkSortedByBytes(t *testing.T) {
	dir := t.TempDir()
	names := []string{"a-b", "a.txt", "a/x", "a/y/z", "a0", "ab", "B", "b", "\xff", "é",
		"a/y-1", "a/y.txt", "a/y0/q", "a/y/z-", "a/y/z0/w", "a-/x", "a./b", "c/d/e/f", "c/d/e.g", "c/d-e", "c/d/e/\xff/g"}
	tree := testutil.Tree{}
	for _, n := range names {
		tree[n] = "x"
	}
	testutil.WriteTree(t, dir, tree)
	got := walkPaths(t, dir)
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("order %q, want %q", got, want)
	}
}

func TestWalkSpecialFilesWarn(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteTree(t, dir, testutil.Tree{
		"a.py": "x", ".gitignore": "ignored.fifo\n", "sub/.amlignore": "->../a.py",
	})
	makeFIFOs(t, dir, []string{"pipe", "ignored.fifo"})
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var mu sync.Mutex
	warned := map[string]string{}
	warn := func(path, reason string) {
		mu.Lock()
		defer mu.Unlock()
		warned[path] = reason
	}
	entries, err := Walk(dir, WalkOptions{Warn: warn})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 { // .gitignore, a.py, sub/.amlignore (a symlink)
		t.Errorf("entries %v, want .gitignore, a.py, sub/.amlignore", entries)
	}
	for _, p := range []string{"pipe", "sock", "sub/.amlignore"} {
		if warned[p] == "" {
			t.Errorf("no warning for %s; warnings %v", p, warned)
		}
	}
	if _, ok := warned["ignored.fifo"]; ok || len(warned) != 3 {
		t.Errorf("warnings %v, want exactly pipe, sock, sub/.amlignore", warned)
	}
}

func TestWalkRootFerryDirAndGitAtAnyDepth(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteTree(t, dir, testutil.Tree{
		".ferry/cache.db": "x", ".ferry.yml": "x", "x/.ferry/keep": "x",
		".git/HEAD": "x", "sub/.git": "gitdir: x", "sub/a.py": "x",
	})
	want := []string{".ferry.yml", "sub/a.py", "x/.ferry/keep"}
	if got := walkPaths(t, dir); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// A nested git repository is walked like a plain directory (git itself
// would list it as the single entry "nested/").
func TestWalkDescendsNestedRepository(t *testing.T) {
	git := testutil.RequireCommand(t, "git")
	dir := t.TempDir()
	testutil.WriteTree(t, dir, testutil.Tree{
		"nested/lib.py": "x", "nested/.gitignore": "*.o\n", "nested/x.o": "x",
	})
	cmd := exec.Command(git, "init", "-q", filepath.Join(dir, "nested"))
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	want := []string{"nested/.gitignore", "nested/lib.py"}
	if got := walkPaths(t, dir); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestWalkReadErrors(t *testing.T) {
	tree := testutil.Tree{
		"a.py": "x", ".gitignore": "secret/\n", "secret/.gitignore": "x", "secret/x": "x",
		"open/.gitignore": "*.o\n", "open/b.py": "x", "locked/c.py": "x",
	}
	tests := []struct {
		name     string
		deny     string // path relative to root whose read fails
		wantPath string // "" if the walk must succeed
	}{
		{name: "unreadable directory", deny: "locked", wantPath: "locked"},
		{name: "unreadable ignore file", deny: "open/.gitignore", wantPath: "open/.gitignore"},
		{name: "unreadable root ignore file", deny: ".gitignore", wantPath: ".gitignore"},
		{name: "ignored unreadable directory", deny: "secret", wantPath: ""},
		{name: "ignored directory's ignore file", deny: "secret/.gitignore", wantPath: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			testutil.WriteTree(t, dir, tree)
			denied := filepath.Join(dir, filepath.FromSlash(tt.deny))
			_, err := walkDenying(t, dir, denied)
			if tt.wantPath == "" {
				if err != nil {
					t.Fatalf("Walk: %v, want success (the path is ignored)", err)
				}
				return
			}
			if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), denied) {
				t.Fatalf("Walk error = %v, want permission error naming %s", err, denied)
			}
		})
	}
}

// walkDenying walks dir with denied unreadable: really (chmod 0) when not
// root, by fault injection when root (who can read anything).
func walkDenying(t *testing.T, dir, denied string) ([]WalkEntry, error) {
	t.Helper()
	w := newWalker(dir, WalkOptions{})
	if os.Geteuid() != 0 {
		if err := os.Chmod(denied, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(denied, 0o755) })
		return w.walk()
	}
	deny := func(abs string) error {
		if abs == denied {
			return &fs.PathError{Op: "open", Path: abs, Err: syscall.EACCES}
		}
		return nil
	}
	openDir, readFile := w.openDir, w.readFile
	w.openDir = func(abs string) (*os.File, error) {
		if err := deny(abs); err != nil {
			return nil, err
		}
		return openDir(abs)
	}
	w.readFile = func(abs string) ([]byte, error) {
		if err := deny(abs); err != nil {
			return nil, err
		}
		return readFile(abs)
	}
	return w.walk()
}

func TestWalkManyDirectoriesConsistent(t *testing.T) {
	dir := t.TempDir()
	tree := testutil.Tree{".gitignore": "*.tmp\n!keep.tmp\n"}
	for d := range 30 {
		for f := range 5 {
			tree[fmt.Sprintf("d%02d/s%d/f%d.py", d, d%3, f)] = "x"
			tree[fmt.Sprintf("d%02d/f%d.tmp", d, f)] = "x"
		}
		tree[fmt.Sprintf("d%02d/keep.tmp", d)] = "x"
	}
	testutil.WriteTree(t, dir, tree)
	first := walkPaths(t, dir)
	if len(first) != 1+30*6 {
		t.Fatalf("got %d entries, want %d", len(first), 1+30*6)
	}
	for range 5 {
		if again := walkPaths(t, dir); !slices.Equal(again, first) {
			t.Fatalf("walks differ:\n%q\n%q", first, again)
		}
	}
}

// benchTree builds the standard warm-snapshot tree: 10,000 small files in
// 100 folders plus 20 large (sparse) files.
func benchTree(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	for d := range 100 {
		sub := filepath.Join(dir, fmt.Sprintf("pkg%03d", d))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 100 {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("mod%03d.py", f)), []byte("x = 1\n"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := range 20 {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("weights%02d.bin", i)))
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Truncate(8 << 20); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("__pycache__/\n*.pyc\n*.ckpt\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkWalk measures Walk on the standard tree. Compare with
// `find DIR -printf '%s %T@\n' >/dev/null` on the same tree (set
// FERRY_BENCH_FIND=1 to report find's time as the find-ns/op metric).
func BenchmarkWalk(b *testing.B) {
	dir := benchTree(b)
	var findNs float64
	if os.Getenv("FERRY_BENCH_FIND") != "" {
		findNs = timeFind(b, dir)
	}
	for b.Loop() {
		entries, err := Walk(dir, WalkOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(entries) != 10021 {
			b.Fatalf("got %d entries", len(entries))
		}
	}
	if findNs > 0 {
		b.ReportMetric(findNs, "find-ns/op")
	}
}

// timeFind returns the mean time of `find DIR -printf '%s %T@\n'` (a bare
// lstat walk) on dir, or 0 without find.
func timeFind(b *testing.B, dir string) float64 {
	b.Helper()
	find, err := exec.LookPath("find")
	if err != nil {
		b.Logf("find not on PATH: %v", err)
		return 0
	}
	const runs = 20
	start := time.Now()
	for range runs {
		cmd := exec.Command(find, dir, "-printf", `%s %T@\n`)
		if err := cmd.Run(); err != nil {
			b.Fatalf("find: %v", err)
		}
	}
	return float64(time.Since(start).Nanoseconds()) / runs
}
