package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/snapshot"
)

// runFerry runs the root command with args and returns stdout, stderr and
// the error.
func runFerrySnapshot(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

func TestSnapshotCommand(t *testing.T) {
	home := t.TempDir()
	t.Setenv("FERRY_HOME", home)
	src := t.TempDir()
	testutil.WriteTree(t, src, testutil.Tree{
		".gitignore": "*.pyc\n", "train.py": "print(1)\n", "pkg/m.py": "x = 1\n",
		"pkg/m.pyc": "junk", "sp ace\nname": "y", "link": "->train.py",
	})

	out, _, err := runFerrySnapshot(t, "snapshot", "--source", src, "--list")
	if err != nil {
		t.Fatal(err)
	}
	if want := ".gitignore\nlink\npkg/m.py\nsp ace\nname\ntrain.py\n"; out != want {
		t.Fatalf("--list = %q, want %q", out, want)
	}
	out, _, err = runFerrySnapshot(t, "snapshot", "--source", src, "--list", "-z")
	if err != nil || out != ".gitignore\x00link\x00pkg/m.py\x00sp ace\nname\x00train.py\x00" {
		t.Fatalf("--list -z = %q, %v", out, err)
	}

	var first, second map[string]any
	for _, into := range []*map[string]any{&first, &second} {
		out, _, err = runFerrySnapshot(t, "snapshot", "--source", src, "--json")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(out), into); err != nil {
			t.Fatalf("--json output %q: %v", out, err)
		}
	}
	if first["files"] != 5.0 || first["hashed_files"] != 5.0 || first["snapshot"] != second["snapshot"] {
		t.Fatalf("--json = %v then %v", first, second)
	}
	if len(first["snapshot"].(string)) != 64 || first["warnings"] == nil || first["largest"] == nil {
		t.Fatalf("--json = %v", first)
	}
	fi, err := os.Stat(filepath.Join(home, "cache", "stat"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("stat cache dir: %v, %v; want 0700", fi, err)
	}

	out, _, err = runFerrySnapshot(t, "snapshot", "--source", src)
	if err != nil || !strings.Contains(out, first["snapshot"].(string)) || !strings.Contains(out, "5 files") {
		t.Fatalf("default output %q, %v", out, err)
	}
}

func TestSnapshotCommandErrors(t *testing.T) {
	t.Setenv("FERRY_HOME", t.TempDir())
	_, _, err := runFerrySnapshot(t, "snapshot", "--source", filepath.Join(t.TempDir(), "missing"))
	var ue *UserError
	if !errors.As(err, &ue) || ue.Hint == "" {
		t.Fatalf("missing source: err = %v, want a UserError with a hint", err)
	}
	_, _, err = runFerrySnapshot(t, "snapshot", "-z")
	var us usageError
	if !errors.As(err, &us) {
		t.Fatalf("-z without --list: err = %v, want a usage error", err)
	}
}

func TestSnapshotCommandWarnsOnBigSnapshot(t *testing.T) {
	t.Setenv("FERRY_HOME", t.TempDir())
	src := t.TempDir()
	tree := testutil.Tree{"big.bin": strings.Repeat("x", 5000)}
	for i := range snapshotWarnFiles {
		tree[fmt.Sprintf("many/f%04d", i)] = ""
	}
	testutil.WriteTree(t, src, tree)
	out, errOut, err := runFerrySnapshot(t, "snapshot", "--source", src)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2001 files", "limit of 2000 files", "ferry goes on", "big.bin", "2000  many/"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.HasPrefix(out, "snapshot ") {
		t.Errorf("stdout = %q", out)
	}
}

// TestLargestMatchesSorting checks the one-pass top lists against sorting
// everything, on random trees with ties in size and in file counts and
// names that sort around "/" ("a-b", "a.b", "a/b").
func TestLargestMatchesSorting(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"a", "a-b", "a.b", "b", "c0"}
	for round := range 200 {
		seen := map[string]bool{}
		var m snapshot.Manifest
		for range rng.IntN(60) {
			var parts []string
			for range 1 + rng.IntN(4) {
				parts = append(parts, names[rng.IntN(len(names))])
			}
			p := strings.Join(parts, "/")
			if seen[p] {
				continue
			}
			seen[p] = true
			m.Entries = append(m.Entries, snapshot.Entry{Path: p, Size: int64(rng.IntN(4)) * 100})
		}
		slices.SortFunc(m.Entries, func(a, b snapshot.Entry) int { return strings.Compare(a.Path, b.Path) })
		// A file and a directory of the same name cannot both exist; keep the file.
		m.Entries = slices.DeleteFunc(m.Entries, func(e snapshot.Entry) bool {
			for i := strings.IndexByte(e.Path, '/'); i >= 0; i = nextSlash(e.Path, i) {
				if seen[e.Path[:i]] {
					return true
				}
			}
			return false
		})
		for _, n := range []int{0, 1, 3, 10} {
			if got, want := largestEntries(&m, n), sortedLargestEntries(&m, n); !slices.Equal(got, want) {
				t.Fatalf("round %d, n %d: largestEntries = %v, want %v", round, n, got, want)
			}
			if got, want := largestDirs(&m, n), sortedLargestDirs(&m, n); !slices.Equal(got, want) {
				t.Fatalf("round %d, n %d: largestDirs = %v, want %v", round, n, got, want)
			}
		}
	}
}

// sortedLargestEntries is largestEntries by sorting every entry.
func sortedLargestEntries(m *snapshot.Manifest, n int) []snapshotLargeFile {
	out := []snapshotLargeFile{}
	for _, e := range m.Entries {
		out = append(out, snapshotLargeFile{e.Path, e.Size})
	}
	slices.SortStableFunc(out, func(a, b snapshotLargeFile) int { return cmp.Compare(b.Bytes, a.Bytes) })
	return out[:min(n, len(out))]
}

// sortedLargestDirs is largestDirs with a map of every directory.
func sortedLargestDirs(m *snapshot.Manifest, n int) []snapshotLargeDir {
	counts := map[string]int{}
	for _, e := range m.Entries {
		for i := strings.IndexByte(e.Path, '/'); i >= 0; i = nextSlash(e.Path, i) {
			counts[e.Path[:i]]++
		}
	}
	out := []snapshotLargeDir{}
	for d, c := range counts {
		out = append(out, snapshotLargeDir{d, c})
	}
	slices.SortFunc(out, func(a, b snapshotLargeDir) int {
		return cmp.Or(cmp.Compare(b.Files, a.Files), strings.Compare(a.Path, b.Path))
	})
	return out[:min(n, len(out))]
}
