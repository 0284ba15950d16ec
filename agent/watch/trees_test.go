package watch

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/fsnotify/fsnotify"
)

// token returns root's token, failing on an error or no token.
func token(t *testing.T, ts *Trees, root string) string {
	t.Helper()
	tok, err := ts.Token(root)
	if err != nil || tok == "" {
		t.Fatalf("Token(%s) = %q, %v; want a token", root, tok, err)
	}
	return tok
}

// movesFrom waits (bounded) for root's token to differ from tok, as it
// must once the watcher has read the event of a change made before.
func movesFrom(t *testing.T, ts *Trees, root, tok, what string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if now := token(t, ts, root); now != tok {
			return now
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s: the token stayed %s", what, tok)
	return ""
}

// stays checks that root's token is still tok a while after a change the
// snapshot leaves out.
func stays(t *testing.T, ts *Trees, root, tok, what string) {
	t.Helper()
	time.Sleep(100 * time.Millisecond)
	if now := token(t, ts, root); now != tok {
		t.Errorf("%s: the token moved from %s to %s", what, tok, now)
	}
}

// TestTreesTokenMovesOnEveryIncludedChange: with real inotify, the token
// of a tree stays put while nothing changes and moves on every change a
// snapshot includes: an edit, a chmod, a new file, an editor's backup
// file (which watch's rerun trigger ignores, but a snapshot includes), a
// new directory and then a file in it (which proves the new directory was
// watched before the token moved), a rename, a removal, and an edit to an
// ignore file that brings an ignored directory in.
func TestTreesTokenMovesOnEveryIncludedChange(t *testing.T) {
	root := t.TempDir()
	testutil.WriteTree(t, root, testutil.Tree{
		"train.py": "print(1)\n", "pkg/m.py": "x\n", ".gitignore": "out/\n", "out/ckpt.bin": "0",
	})
	ts := NewTrees(t.TempDir(), 0, nil)
	defer ts.Close()

	tok := token(t, ts, root)
	if again := token(t, ts, root); again != tok {
		t.Fatalf("token moved with nothing changed: %s then %s", tok, again)
	}
	p := func(rel string) string { return filepath.Join(root, rel) }
	steps := []struct {
		what   string
		change func() error
	}{
		{"edit", func() error { return os.WriteFile(p("train.py"), []byte("print(2)\n"), 0o644) }},
		{"chmod", func() error { return os.Chmod(p("train.py"), 0o755) }},
		{"new file", func() error { return os.WriteFile(p("pkg/n.py"), nil, 0o644) }},
		{"backup file", func() error { return os.WriteFile(p("pkg/m.py~"), nil, 0o644) }},
		{"new directory", func() error { return os.Mkdir(p("new"), 0o755) }},
		{"file in the new directory", func() error { return os.WriteFile(p("new/a.py"), nil, 0o644) }},
		{"rename", func() error { return os.Rename(p("pkg"), p("lib")) }},
		{"edit in the renamed directory", func() error { return os.WriteFile(p("lib/m.py"), []byte("y\n"), 0o644) }},
		{"removal", func() error { return os.Remove(p("lib/n.py")) }},
		{"ignore file", func() error { return os.WriteFile(p(".gitignore"), nil, 0o644) }},
		{"edit in the directory no longer ignored", func() error { return os.WriteFile(p("out/ckpt.bin"), []byte("1"), 0o644) }},
	}
	for _, s := range steps {
		if err := s.change(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		tok = movesFrom(t, ts, root, tok, s.what)
	}

	if err := os.WriteFile(p(".gitignore"), []byte("out/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok = movesFrom(t, ts, root, tok, "ignore file again")
	os.WriteFile(p("out/ckpt.bin"), []byte("2"), 0o644)
	stays(t, ts, root, tok, "write in an ignored directory")
}

// TestTreesRefusesWhatInotifyCannotVouchFor: no token for a tree on a
// file system that changes unseen (procfs stands in for NFS or FUSE), for
// a tree over the watch limit, for one with a file system mounted inside,
// or for a tree that is gone; a relative root is an error.
func TestTreesRefusesWhatInotifyCannotVouchFor(t *testing.T) {
	ts := NewTrees(t.TempDir(), 0, nil)
	defer ts.Close()
	if tok, err := ts.Token("/proc/self"); tok != "" || err != nil {
		t.Errorf("Token(/proc/self) = %q, %v; want no token", tok, err)
	}
	if why := watchable("/proc/self"); why == "" {
		t.Error("procfs counted as a file system inotify vouches for")
	}
	if m := mountUnder("/"); m == "" {
		t.Error("mountUnder(/) found no mount point under /, want /proc at least")
	}
	if _, err := ts.Token("rel/dir"); err == nil {
		t.Error("a relative root gave no error")
	}

	limited := NewTrees(t.TempDir(), 0, nil)
	defer limited.Close()
	limited.addWatch = func(w *fsnotify.Watcher, dir string) error { return syscall.ENOSPC }
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "a.py"), nil, 0o644)
	if tok, err := limited.Token(root); tok != "" || err != nil {
		t.Errorf("over the watch limit: Token = %q, %v; want no token", tok, err)
	}

	gone := t.TempDir()
	tok := token(t, ts, gone)
	os.RemoveAll(gone)
	deadline := time.Now().Add(5 * time.Second)
	for {
		now, _ := ts.Token(gone)
		if now == "" {
			break
		}
		if now != tok || time.Now().After(deadline) {
			t.Fatalf("removed tree: token %q (was %q), want none", now, tok)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTreesDropsTheLeastRecentlyAsked: past its bound the set stops
// watching the tree asked least recently, whose next token is a new
// watcher's (never equal to one it gave before).
func TestTreesDropsTheLeastRecentlyAsked(t *testing.T) {
	ts := NewTrees(t.TempDir(), 2, nil)
	defer ts.Close()
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	ta := token(t, ts, a)
	token(t, ts, b)
	token(t, ts, a) // b is now the least recently asked
	token(t, ts, c)
	if len(ts.trees) != 2 || ts.trees[b] != nil {
		t.Fatalf("watching %d trees (b among them: %v), want a and c", len(ts.trees), ts.trees[b] != nil)
	}
	if again := token(t, ts, a); again != ta {
		t.Errorf("a's token moved from %s to %s with nothing changed", ta, again)
	}
}

// TestTreesTokenCountsTheChangeJustMade: a change made just before the
// token is asked for is always counted, with no wait: the token request
// waits for the watcher to read inotify's queue up to the request
// (Watcher.Sync). Without that, a save followed at once by a run could
// be vouched for as unchanged and run the old code.
func TestTreesTokenCountsTheChangeJustMade(t *testing.T) {
	root := t.TempDir()
	ts := NewTrees(t.TempDir(), 0, nil)
	defer ts.Close()
	f := filepath.Join(root, "train.py")
	os.WriteFile(f, []byte("0"), 0o644)
	tok := token(t, ts, root)
	for i := range 300 {
		if err := os.WriteFile(f, []byte{byte(i)}, 0o644); err != nil {
			t.Fatal(err)
		}
		now := token(t, ts, root)
		if now == tok {
			t.Fatalf("write %d, made before the request, not counted: token still %s", i, tok)
		}
		tok = now
	}
}

// TestTreesTokenFollowsWhatTheRootNames: a root moved away and replaced
// by another directory, or reached through a symlink that now points at
// another tree, gets a new watcher's token, never the old one.
func TestTreesTokenFollowsWhatTheRootNames(t *testing.T) {
	base := t.TempDir()
	ts := NewTrees(t.TempDir(), 0, nil)
	defer ts.Close()
	root := filepath.Join(base, "src")
	os.Mkdir(root, 0o755)
	os.WriteFile(filepath.Join(root, "a.py"), []byte("1"), 0o644)
	tok := token(t, ts, root)
	if err := os.Rename(root, root+".old"); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(root, 0o755)
	os.WriteFile(filepath.Join(root, "a.py"), []byte("2"), 0o644)
	if now := token(t, ts, root); now == tok {
		t.Fatalf("root replaced: token stayed %s", tok)
	}

	v1, v2, link := filepath.Join(base, "v1"), filepath.Join(base, "v2"), filepath.Join(base, "cur")
	os.Mkdir(v1, 0o755)
	os.Mkdir(v2, 0o755)
	os.Symlink(v1, link)
	tok = token(t, ts, link)
	os.Remove(link)
	os.Symlink(v2, link)
	if now := token(t, ts, link); now == tok {
		t.Fatalf("symlink retargeted: token stayed %s", tok)
	}
}

// TestTreesWatchAFolderRenamedBeforeItsEventsAreRead: a rescan (here, for
// an edited ignore file) that finds a folder under its new name before the
// events of its rename are read must not leave it unwatched: inotify gives
// both names one watch, and removing the old name's would end it. An edit
// inside the renamed folder moves the token, every time.
func TestTreesWatchAFolderRenamedBeforeItsEventsAreRead(t *testing.T) {
	root := t.TempDir()
	ts := NewTrees(t.TempDir(), 0, nil)
	defer ts.Close()
	p := func(rel string) string { return filepath.Join(root, rel) }
	testutil.WriteTree(t, root, testutil.Tree{".gitignore": "*.log\n", "d/n0/b.py": "0"})
	token(t, ts, root)
	for i := range 20 {
		from, to := p(fmt.Sprintf("d/n%d", i)), p(fmt.Sprintf("d/n%d", i+1))
		// Both before the watcher reads either event.
		if err := os.WriteFile(p(".gitignore"), []byte(fmt.Sprintf("*.log\n# %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(from, to); err != nil {
			t.Fatal(err)
		}
		tok := token(t, ts, root)
		if err := os.WriteFile(filepath.Join(to, "b.py"), []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
		movesFrom(t, ts, root, tok, fmt.Sprintf("edit in the renamed folder (round %d)", i))
	}
}
