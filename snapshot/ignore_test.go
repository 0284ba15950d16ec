package snapshot

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// Rows from git's t/t3070-wildmatch.sh: text, pattern, result with
// WM_PATHNAME ("wildmatch") and without ("pathmatch").
func TestWildmatchGitSuite(t *testing.T) {
	tests := []struct {
		text, pattern  string
		pathname, path bool
	}{
		{"foo", "foo", true, true},
		{"foo", "bar", false, false},
		{"foo", "???", true, true},
		{"foo", "??", false, false},
		{"foo", "*", true, true},
		{"foo", "f*", true, true},
		{"foo", "*f", false, false},
		{"foo", "*foo*", true, true},
		{"foobar", "*ob*a*r*", true, true},
		{"aaaaaaabababab", "*ab", true, true},
		{"foo*", `foo\*`, true, true},
		{"foobar", `foo\*bar`, false, false},
		{`f\oo`, `f\\oo`, true, true},
		{"ball", "*[al]?", true, true},
		{"ten", "[ten]", false, false},
		{"ten", "**[!te]", true, true},
		{"ten", "**[!ten]", false, false},
		{"ten", "t[a-g]n", true, true},
		{"ten", "t[!a-g]n", false, false},
		{"ton", "t[!a-g]n", true, true},
		{"ton", "t[^a-g]n", true, true},
		{"a]b", "a[]]b", true, true},
		{"a-b", "a[]-]b", true, true},
		{"a]b", "a[]-]b", true, true},
		{"aab", "a[]-]b", false, false},
		{"aab", "a[]a-]b", true, true},
		{"]", "]", true, true},
		{"foo/baz/bar", "foo*bar", false, true},
		{"foo/baz/bar", "foo**bar", false, true},
		{"foobazbar", "foo**bar", true, true},
		{"foo/baz/bar", "foo/**/bar", true, true},
		{"foo/b/a/z/bar", "foo/**/bar", true, true},
		{"foo/bar", "foo/**/bar", true, false},
		{"foo/bar", "foo?bar", false, true},
		{"foo/bar", "foo[/]bar", false, true},
		{"foo/bar", "foo[^a-z]bar", false, true},
		{"foo", "**/foo", true, false},
		{"XXX/foo", "**/foo", true, true},
		{"bar/baz/foo", "**/foo", true, true},
		{"bar/baz/foo", "*/foo", false, true},
		{"foo/bar/baz", "**/bar*", false, true},
		{"deep/foo/bar/baz", "**/bar/*", true, true},
		{"deep/foo/bar/baz/", "**/bar/*", false, true},
		{"deep/foo/bar/baz/", "**/bar/**", true, true},
		{"deep/foo/bar", "**/bar/*", false, false},
		{"deep/foo/bar/", "**/bar/**", true, true},
		{"foo/bar/baz/x", "*/bar/**", true, true},
		{"deep/foo/bar/baz/x", "*/bar/**", false, true},
		{"a1B", "[[:alpha:]][[:digit:]][[:upper:]]", true, true},
		{"a", "[[:digit:][:upper:][:space:]]", false, false},
		{"5", "[[:digit:][:upper:][:space:]]", true, true},
		{"5", "[a-c[:digit:]x-z]", true, true},
		{"q", "[a-c[:digit:]x-z]", false, false},
		{"a", "[[:digit:][:upper:][:spaci:]]", false, false},
		{"-", `[\-_]`, true, true},
		{"]", `[\]]`, true, true},
		{`\]`, `[\]]`, false, false},
		{"ab", "a[]b", false, false},
		{"ab[", "ab[", false, false},
		{"ab", "[!", false, false},
		{"-", "[-]", true, true},
		{"-", "[a-", false, false},
		{" ", "[ --]", true, true},
		{"$", "[ --]", true, true},
		{"0", "[ --]", false, false},
		{"j", "[a-e-n]", false, false},
		{"^", "[a^bc]", true, true},
		{`\`, `[\\]`, true, true},
		{"G", `[A-\\]`, true, true},
		{"aaabbb", "b*a", false, false},
		{"2", `[\1-\3]`, true, true},
		{"4", `[\1-\3]`, false, false},
		{"[", `[[-\]]`, true, true},
		{"-", `[[-\]]`, false, false},
		{"-adobe-courier-bold-o-normal--12-120-75-75-m-70-iso8859-1", "-*-*-*-*-*-*-12-*-*-*-m-*-*-*", true, true},
		{"-adobe-courier-bold-o-normal--12-120-75-75-/-70-iso8859-1", "-*-*-*-*-*-*-12-*-*-*-m-*-*-*", false, false},
		{"abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txt", "**/*a*b*g*n*t", true, true},
		{"foo/bba/arr", "*/*/*", true, true},
		{"foo/bb/aa/rr", "*/*/*", false, true},
		{"foo/bb/aa/rr", "**/**/**", true, true},
		{"abcXdefXghi", "*X*i", true, true},
		{"ab/cXd/efXg/hi", "*X*i", false, true},
		{"ab/cXd/efXg/hi", "**/*X*/**/*i", true, true},
	}
	for _, tt := range tests {
		if got := wildmatch(tt.pattern, tt.text, true); got != tt.pathname {
			t.Errorf("wildmatch(%q, %q, pathname) = %v, want %v", tt.pattern, tt.text, got, tt.pathname)
		}
		if got := wildmatch(tt.pattern, tt.text, false); got != tt.path {
			t.Errorf("wildmatch(%q, %q) = %v, want %v", tt.pattern, tt.text, got, tt.path)
		}
	}
}

func TestParseIgnoreFile(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []ignorePattern
	}{
		{"comment and blank", "# c\n\nfoo\n", []ignorePattern{{text: "foo", prefix: 3, flags: flagNoDir}}},
		{"negated dir", "!build/\n", []ignorePattern{{text: "build", prefix: 5, flags: flagNegative | flagMustBeDir | flagNoDir}}},
		{"anchored", "/a/b*\n", []ignorePattern{{text: "/a/b*", prefix: 4}}},
		{"ends with", "*.py\r\n", []ignorePattern{{text: "*.py", prefix: 0, flags: flagNoDir | flagEndsWith}}},
		{"escaped space kept", `a\ ` + "  \n", []ignorePattern{{text: `a\ `, prefix: 1, flags: flagNoDir}}},
		{"bom and no newline", "\xef\xbb\xbfx", []ignorePattern{{text: "x", prefix: 1, flags: flagNoDir}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseIgnoreFile([]byte(tt.data), "").patterns
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestIgnoreChecker(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteTree(t, dir, testutil.Tree{
		".gitignore":            "build/\n*.log\n",
		"src/.amlignore":        "*.tmp\n!keep.log\n",
		"src/.gitignore":        "*.py\n", // not read: .amlignore wins
		"src/a.py":              "x",
		"build/.gitignore":      "!*\n", // never read: build/ is excluded
		"docs/.ferryignore":     "*.md\n",
		"docs/guide/.gitignore": "!*.md\n",
		"real/.gitignore":       "*.x\n",
		"link":                  "->real",
	})
	c := NewIgnoreChecker(dir)
	tests := []struct {
		rel   string
		isDir bool
		want  bool
	}{
		{"", true, false},
		{"src/a.py", false, false},
		{"src/x.tmp", false, true},
		{"src/keep.log", false, false},
		{"src/other.log", false, true},
		{"build", true, true},
		{"build", false, false}, // a file named build is not matched by "build/"
		{"build/x/y.py", false, true},
		{"docs/a.md", false, true},
		{"docs/guide/a.md", false, false},
		{".git/config", false, true},
		{"sub/.git", true, true},
		{".ferry/statcache", false, true},
		{"sub/.ferry/x", false, false},
		{"real/a.x", false, true},
		{"link/a.x", false, false}, // no rules are read through a symlink
	}
	for _, tt := range tests {
		got, err := c.Ignored(tt.rel, tt.isDir)
		if err != nil {
			t.Fatalf("Ignored(%q): %v", tt.rel, err)
		}
		if got != tt.want {
			t.Errorf("Ignored(%q, %v) = %v, want %v", tt.rel, tt.isDir, got, tt.want)
		}
	}
}

func TestIgnoreCheckerInvalidate(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteTree(t, dir, testutil.Tree{"src/.gitignore": "*.tmp\n"})
	c := NewIgnoreChecker(dir)
	check := func(want bool) {
		t.Helper()
		got, err := c.Ignored("src/a.tmp", false)
		if err != nil || got != want {
			t.Fatalf("Ignored(src/a.tmp) = %v, %v; want %v", got, err, want)
		}
	}
	check(true)
	if err := os.WriteFile(filepath.Join(dir, "src", ".gitignore"), []byte("*.bak\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check(true) // cached until invalidated
	c.Invalidate("src")
	check(false)
	if err := os.WriteFile(filepath.Join(dir, "src", ".ferryignore"), []byte("a.*\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Invalidate("src/")
	check(true)
	if !IsIgnoreFile(".ferryignore") || !IsIgnoreFile(".amlignore") || IsIgnoreFile("gitignore") {
		t.Error("IsIgnoreFile gives wrong answers")
	}
}

func TestIgnoreCheckerUnreadableIgnoreFile(t *testing.T) {
	dir := t.TempDir()
	// A directory named .ferryignore is not a regular file: skipped.
	testutil.WriteTree(t, dir, testutil.Tree{"a/.ferryignore/": "", "a/.gitignore": "x\n"})
	c := NewIgnoreChecker(dir)
	if got, err := c.Ignored("a/x", false); err != nil || !got {
		t.Fatalf("Ignored(a/x) = %v, %v; want true (a/.gitignore applies)", got, err)
	}
	// A parent that is a file: nothing to read, not an error.
	testutil.WriteTree(t, dir, testutil.Tree{"f": "x"})
	if got, err := c.Ignored("f/y", false); err != nil || got {
		t.Fatalf("Ignored(f/y) = %v, %v; want false, nil", got, err)
	}
	if os.Geteuid() == 0 {
		return // root reads any file; Walk's error path is tested by fault injection
	}
	testutil.WriteTree(t, dir, testutil.Tree{"b/.gitignore": "x\n"})
	if err := os.Chmod(filepath.Join(dir, "b", ".gitignore"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ignored("b/x", false); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("Ignored(b/x) error = %v, want permission denied", err)
	}
}
