package snapshot

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// TestTakeTreeToken: a Take given the token the manifest was saved under
// returns it without walking (a change it cannot see proves that), with
// the walk's warnings; any other token, no token, or a damaged cache
// file walks again.
func TestTakeTreeToken(t *testing.T) {
	src, cache := t.TempDir(), t.TempDir()
	testutil.WriteTree(t, src, testutil.Tree{"train.py": "print(1)\n", "pkg/m.py": "x = 1\n", ".gitignore": "*.log\n"})
	if err := syscall.Mkfifo(filepath.Join(src, "pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	token := "a.1"
	var warned []string
	opts := Options{CacheDir: cache, Tree: func(root, since string) TreeChanges {
		if root != src {
			t.Errorf("token asked for %q, want %q", root, src)
		}
		if saved := readTree(cache, src); since != saved.token() {
			t.Errorf("asked since %q, want the saved token %q", since, saved.token())
		}
		return TreeChanges{Token: token}
	}, Warn: func(path, reason string) { warned = append(warned, path) }}
	take := func() (*Manifest, Stats) {
		t.Helper()
		warned = nil
		m, st, err := Take(t.Context(), src, opts)
		if err != nil {
			t.Fatal(err)
		}
		return m, st
	}

	first, st := take()
	if st.Watched || st.Hashed != 3 {
		t.Fatalf("first take: %+v, want a walk that hashed 3 files", st)
	}
	if !slices.Equal(warned, []string{"pipe"}) {
		t.Fatalf("first take warned about %q, want the FIFO", warned)
	}
	// Unseen by a take that trusts the token: the token says nothing changed.
	os.WriteFile(filepath.Join(src, "train.py"), []byte("print(2)\n"), 0o644)
	again, st := take()
	if !st.Watched || again.ID() != first.ID() || st.Files != 3 || st.Bytes != first.Bytes() {
		t.Fatalf("same token: %+v, id %s, want the saved manifest %s", st, again.ID(), first.ID())
	}
	if !slices.Equal(warned, []string{"pipe"}) {
		t.Errorf("take from the tree cache warned about %q, want the walk's warning again", warned)
	}

	token = "a.2" // what the keeper says once it saw the write
	changed, st := take()
	if st.Watched || changed.ID() == first.ID() {
		t.Fatalf("new token: %+v, id unchanged: want a walk that sees the edit", st)
	}
	if _, st = take(); !st.Watched {
		t.Fatalf("token a.2 again: %+v, want the manifest saved under it", st)
	}

	// A damaged file is a miss, never a wrong manifest.
	file := treeCacheFile(cache, src)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-40] ^= 1 // inside the last entry's blob id
	os.WriteFile(file, data, 0o600)
	m, st := take()
	if st.Watched || m.ID() != changed.ID() {
		t.Fatalf("damaged tree cache: %+v, id %s, want a walk giving %s", st, m.ID(), changed.ID())
	}

	token = "" // no keeper: walks, and leaves the saved manifest alone
	os.WriteFile(filepath.Join(src, "new.py"), nil, 0o644)
	if _, st = take(); st.Watched {
		t.Fatalf("no token: %+v, want a walk", st)
	}
	token = "a.2"
	if m, st = take(); !st.Watched || m.ID() != changed.ID() {
		t.Fatalf("token a.2 after a walk without one: %+v, want what was saved under a.2", st)
	}
}
