package snapshot

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// The conformance suite checks Walk against real git, the oracle: for each
// case it writes the tree twice, runs
// `git ls-files -o --exclude-standard -z` in a fresh repository on one
// copy and Walk on the other, and requires identical lists. Cases are in
// ignore_cases_test.go.

// confCase is one tree to compare.
type confCase struct {
	name string
	tree testutil.Tree
	// fifos are extra named pipes to create (git skips them silently).
	fifos []string
}

// gitOracleTree rewrites tree for git, which knows only .gitignore: in a
// directory with a (regular) .ferryignore or .amlignore, the winner's
// content becomes the .gitignore. It returns the new tree and the paths of
// .gitignore files it invented, which must be dropped from git's output.
func gitOracleTree(tree testutil.Tree) (testutil.Tree, map[string]bool) {
	out := maps.Clone(tree)
	synthetic := map[string]bool{}
	dirs := map[string]bool{}
	for p := range tree {
		dirs[path.Dir(strings.TrimSuffix(p, "/"))] = true
	}
	for dir := range dirs {
		for _, name := range []string{".ferryignore", ".amlignore"} {
			content, ok := tree[path.Join(dir, name)]
			if !ok || strings.HasPrefix(content, "->") {
				continue
			}
			gi := path.Join(dir, ".gitignore")
			if _, had := tree[gi]; !had {
				synthetic[gi] = true
			}
			out[gi] = content
			break
		}
	}
	return out, synthetic
}

// gitListOthers runs git's untracked-file listing at dir, made a fresh
// repository here, with no user, system or global configuration and an
// empty info/exclude. The repository is created by hand (HEAD, objects,
// refs) instead of `git init`, to run one git process per case.
func gitListOthers(t *testing.T, dir string) []string {
	t.Helper()
	gitDir := filepath.Join(dir, ".git")
	for _, d := range []string{"objects", "refs", "info"} {
		if err := os.MkdirAll(filepath.Join(gitDir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{"HEAD": "ref: refs/heads/main\n", "info/exclude": ""} {
		if err := os.WriteFile(filepath.Join(gitDir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	home := caseTempDir(t)
	cmd := exec.Command("git", "-c", "core.excludesFile=/dev/null", "-c", "core.quotePath=false",
		"ls-files", "-o", "--exclude-standard", "-z")
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + home,
		"GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C",
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v\n%s", err, stderr.Bytes())
	}
	var paths []string
	for p := range strings.SplitSeq(string(out), "\x00") {
		if p != "" {
			paths = append(paths, p)
		}
	}
	return paths
}

// caseTempDir returns a new empty directory for one case, on tmpfs
// (/dev/shm) when there is one: the suite creates tens of thousands of
// small files, which on a journaling disk filesystem under load costs
// several times more than the comparison itself.
func caseTempDir(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "ferry-conformance-"); err == nil {
			t.Cleanup(func() {
				if err := os.RemoveAll(dir); err != nil {
					t.Errorf("remove %s: %v", dir, err)
				}
			})
			return dir
		}
	}
	return t.TempDir()
}

// expectedFromGit computes what Walk must return for tc. It also returns
// the directory git ran in if Walk can run there too (the trees are the
// same: no .ferryignore or .amlignore), or "".
func expectedFromGit(t *testing.T, tc confCase) ([]string, string) {
	t.Helper()
	dir := caseTempDir(t)
	tree, synthetic := gitOracleTree(tc.tree)
	testutil.WriteTree(t, dir, tree)
	makeFIFOs(t, dir, tc.fifos)
	var want []string
	for _, p := range gitListOthers(t, dir) {
		// Ferry never includes the root's .ferry (its own state).
		if synthetic[p] || p == ".ferry" || strings.HasPrefix(p, ".ferry/") {
			continue
		}
		want = append(want, p)
	}
	slices.Sort(want)
	if maps.Equal(tree, tc.tree) {
		return want, dir
	}
	return want, ""
}

func makeFIFOs(t *testing.T, dir string, fifos []string) {
	t.Helper()
	for _, f := range fifos {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func walkPaths(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := Walk(dir, WalkOptions{})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	paths := make([]string, len(entries))
	for i, e := range entries {
		paths[i] = e.Path
	}
	return paths
}

func TestConformanceWithGit(t *testing.T) {
	testutil.RequireCommand(t, "git")
	cases := conformanceCases(t)
	if len(cases) < 80 {
		t.Fatalf("only %d conformance cases", len(cases))
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want, dir := expectedFromGit(t, tc)
			if dir == "" {
				dir = caseTempDir(t)
				testutil.WriteTree(t, dir, tc.tree)
				makeFIFOs(t, dir, tc.fifos)
			}
			got := walkPaths(t, dir)
			if !slices.Equal(got, want) {
				t.Errorf("Walk and git disagree\nonly Walk: %q\nonly git:  %q\nWalk: %q\ngit:  %q",
					minus(got, want), minus(want, got), got, want)
			}
			checkIgnoredAgrees(t, dir, tc.tree, want)
		})
	}
}

// checkIgnoredAgrees checks that IgnoreChecker says "not ignored" for every
// path git lists and "ignored" for every other file of the tree.
func checkIgnoredAgrees(t *testing.T, dir string, tree testutil.Tree, want []string) {
	t.Helper()
	listed := map[string]bool{}
	for _, p := range want {
		listed[p] = true
	}
	c := NewIgnoreChecker(dir)
	for _, p := range slices.Sorted(maps.Keys(tree)) {
		if strings.HasSuffix(p, "/") {
			continue
		}
		ignored, err := c.Ignored(p, false)
		if err != nil {
			t.Fatalf("Ignored(%q): %v", p, err)
		}
		if ignored == listed[p] {
			t.Errorf("Ignored(%q) = %v, but git lists it: %v", p, ignored, listed[p])
		}
	}
}

// minus returns the elements of a not in b.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
