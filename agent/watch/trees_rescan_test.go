package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/snapshot"
)

// TestTreesRescanMatchesWalk: with real inotify, a snapshot that reads
// again only the directories the keeper's watcher names as changed gives,
// after every batch of random changes (edits, chmods, new files and
// folders filled at once, renames and removals of files and folders,
// folders moved in from outside and out of the tree, a folder replaced by
// a file, symlinks, FIFOs, ignored files, an ignore file edited), exactly
// the manifest and warnings of a walk that hashes everything. The seed is
// logged; FERRY_TEST_SEED replays one.
func TestTreesRescanMatchesWalk(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FERRY_TEST_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (FERRY_TEST_SEED replays it)", seed)
	rt := &randomTree{rng: rand.New(rand.NewPCG(seed, 1)), root: t.TempDir(), outside: t.TempDir()}
	testutil.WriteTree(t, rt.root, testutil.Tree{
		".gitignore": "*.log\nbuild/\n", "train.py": "1", "a/x.py": "2", "a/b/y.py": "3", "a/.gitignore": "!keep.log\n",
		"c/z.txt": "4", "build/out.bin": "5",
	})
	ts := NewTrees(t.TempDir(), 0, nil)
	defer ts.Close()
	var mu sync.Mutex // Warn is called from the walk's goroutines
	collect := func(to *[]string) func(p, r string) {
		return func(p, r string) {
			mu.Lock()
			defer mu.Unlock()
			*to = append(*to, p+": "+r)
		}
	}
	var got []string
	opts := snapshot.Options{CacheDir: t.TempDir(), Warn: collect(&got),
		Tree: func(root, since string) snapshot.TreeChanges {
			c, err := ts.Changes(root, since)
			if err != nil {
				t.Fatalf("Changes: %v", err)
			}
			return c
		}}
	const rounds = 80
	rescans := 0
	for round := range rounds {
		if round > 0 {
			for range 1 + rt.rng.IntN(4) {
				rt.change(t)
			}
		}
		got = nil
		if os.Getenv("FERRY_TEST_TRACE") != "" {
			t.Log("round", round)
		}
		m, st, err := snapshot.Take(t.Context(), rt.root, opts)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		var want []string
		walked, _, err := snapshot.Take(t.Context(), rt.root, snapshot.Options{Warn: collect(&want)})
		if err != nil {
			t.Fatalf("round %d: walk: %v", round, err)
		}
		slices.Sort(got)
		slices.Sort(want)
		if m.ID() != walked.ID() || !slices.Equal(got, want) {
			t.Fatalf("round %d (stats %+v) after:\n%s\nmanifest %s, warnings %q;\na walk gives %s, warnings %q\n%s",
				round, st, strings.Join(rt.log, "\n"), m.ID(), got, walked.ID(), want, diffPaths(m, walked))
		}
		if st.Rescanned > 0 {
			rescans++
		}
		rt.log = nil
	}
	if rescans < rounds/2 {
		t.Fatalf("only %d of %d snapshots read the changed folders alone: the test does not exercise them", rescans, rounds)
	}
	t.Logf("%d of %d snapshots read only the changed folders", rescans, rounds)
}

// diffPaths lists the entries in one manifest and not the other.
func diffPaths(a, b *snapshot.Manifest) string {
	key := func(e snapshot.Entry) string { return fmt.Sprintf("%s %o %d %s", e.Path, e.Mode, e.Size, e.Blob) }
	var as, bs []string
	for _, e := range a.Entries {
		as = append(as, key(e))
	}
	for _, e := range b.Entries {
		bs = append(bs, key(e))
	}
	var out []string
	for _, s := range as {
		if !slices.Contains(bs, s) {
			out = append(out, "only rescanned: "+s)
		}
	}
	for _, s := range bs {
		if !slices.Contains(as, s) {
			out = append(out, "only walked:    "+s)
		}
	}
	return strings.Join(out, "\n")
}

// randomTree makes random changes to a tree, logging them.
type randomTree struct {
	rng           *rand.Rand
	root, outside string
	n             int
	log           []string
}

var randomNames = []string{"m.py", "n.py", "keep.log", "debug.log", "notes.txt", ".hidden", "build", "d1", "d2", "sub"}

func (rt *randomTree) name() string {
	rt.n++
	return fmt.Sprintf("%s%d", randomNames[rt.rng.IntN(len(randomNames))], rt.n%3)
}

// entries lists what is under the root (ignored folders included): its
// folders ("" the root) and its files and symlinks.
func (rt *randomTree) entries() (dirs, files []string) {
	dirs = []string{""}
	filepath.WalkDir(rt.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == rt.root {
			return nil
		}
		rel, _ := filepath.Rel(rt.root, p)
		if d.IsDir() {
			dirs = append(dirs, rel)
		} else if !strings.HasSuffix(rel, ".gitignore") && d.Type()&fs.ModeNamedPipe == 0 { // writing to a FIFO blocks
			files = append(files, rel)
		}
		return nil
	})
	return dirs, files
}

func pick(rng *rand.Rand, s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[rng.IntN(len(s))]
}

// change makes one random change.
func (rt *randomTree) change(t *testing.T) {
	t.Helper()
	dirs, files := rt.entries()
	p := func(rel string) string { return filepath.Join(rt.root, rel) }
	dir, file := pick(rt.rng, dirs), pick(rt.rng, files)
	var what string
	var err error
	if os.Getenv("FERRY_TEST_TRACE") != "" {
		t.Log("next:", dir, file)
	}
	switch op := rt.rng.IntN(15); {
	case op == 0 || file == "":
		f := filepath.Join(dir, rt.name())
		what = "new file " + f
		if fi, err := os.Lstat(p(f)); err == nil && fi.Mode()&fs.ModeNamedPipe != 0 {
			return // writing to a FIFO blocks
		}
		err = os.WriteFile(p(f), []byte(what), 0o644)
	case op == 1:
		what = "edit " + file
		err = os.WriteFile(p(file), []byte(fmt.Sprint(rt.rng.Int())), 0o644)
	case op == 2:
		what = "remove " + file
		err = os.Remove(p(file))
	case op == 3:
		what = "chmod " + file
		err = os.Chmod(p(file), fs.FileMode(0o600+rt.rng.IntN(2)*0o155))
	case op == 4:
		d := filepath.Join(dir, rt.name())
		what = "new folder filled at once " + d
		err = os.MkdirAll(p(filepath.Join(d, "inner")), 0o755)
		for _, f := range []string{"a.py", "inner/b.py", "c.log"} {
			err = firstErr(err, os.WriteFile(p(filepath.Join(d, f)), []byte(f), 0o644))
		}
	case op == 5:
		to := filepath.Join(dir, rt.name())
		what = "rename " + file + " to " + to
		err = os.Rename(p(file), p(to))
	case op == 6 && dir != "":
		to := filepath.Join(pick(rt.rng, dirs), rt.name())
		what = "rename folder " + dir + " to " + to
		if to == dir || strings.HasPrefix(to, dir+"/") {
			return
		}
		err = os.Rename(p(dir), p(to))
	case op == 7 && dir != "":
		what = "remove folder " + dir
		err = os.RemoveAll(p(dir))
	case op == 8 && dir != "":
		what = "replace folder " + dir + " by a file"
		err = firstErr(os.RemoveAll(p(dir)), os.WriteFile(p(dir), []byte("was a folder"), 0o644))
	case op == 9:
		l := filepath.Join(dir, rt.name())
		what = "symlink " + l
		err = os.Symlink(fmt.Sprint("nowhere", rt.n), p(l)) // an edit through it makes a file beside it
	case op == 10:
		d := filepath.Join(rt.outside, rt.name())
		to := filepath.Join(dir, filepath.Base(d))
		what = "folder moved in as " + to
		err = firstErr(os.MkdirAll(filepath.Join(d, "deep"), 0o755), os.WriteFile(filepath.Join(d, "deep", "w.py"), nil, 0o644))
		err = firstErr(err, os.Rename(d, p(to)))
	case op == 11 && dir != "":
		what = "folder moved out: " + dir
		err = os.Rename(p(dir), filepath.Join(rt.outside, fmt.Sprint("gone", rt.n)))
		rt.n++
	case op == 12 && rt.rng.IntN(4) == 0:
		what = "ignore file edited"
		err = os.WriteFile(p(".gitignore"), []byte(pick(rt.rng, []string{"*.log\nbuild/\n", "*.txt\n", "sub*/\n*.log\n"})), 0o644)
	case op == 13:
		f := filepath.Join(dir, rt.name())
		what = "fifo " + f
		err = syscall.Mkfifo(p(f), 0o600)
	default:
		what = "append to " + file
		f, ferr := os.OpenFile(p(file), os.O_WRONLY|os.O_APPEND, 0)
		if ferr == nil {
			_, err = f.WriteString("more")
			err = firstErr(err, f.Close())
		}
	}
	rt.log = append(rt.log, what)
	if os.Getenv("FERRY_TEST_TRACE") != "" {
		t.Log(what)
	}
	if err != nil && !os.IsExist(err) && !os.IsNotExist(err) && !strings.Contains(err.Error(), "not a directory") &&
		!errors.Is(err, syscall.EISDIR) && !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("%s: %v", what, err)
	}
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
