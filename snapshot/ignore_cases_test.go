package snapshot

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// projectTree is a realistic ML project with awkward names; most cases put
// one ignore file on top of it. Every file holds "x"; a path ending in "/"
// is an empty directory.
func projectTree() testutil.Tree {
	return files(
		"train.py", "model.py", "README.md", "README.MD.bak", "notes.txt", "setup.cfg",
		"requirements.txt", "data/.gitkeep", "data/raw/a.csv", "data/raw/b.csv",
		"data/processed/x.parquet", "src/pkg/__init__.py", "src/pkg/mod.py",
		"src/pkg/mod.pyc", "src/pkg/mod.pyo", "src/pkg/mod.pyd", "src/pkg/mod.pyx",
		"src/pkg/__pycache__/mod.cpython-311.pyc", "src/pkg/build", "src/tests/test_mod.py",
		"build/out.o", "build/lib/x.so", "outputs/model.ckpt", "outputs/log.txt",
		"epoch=3.ckpt", "logs/run1/events.log", "logs/run1/stdout.txt", "debug.log",
		"mlruns/0/meta.yaml", "mlruns/0/abc/metrics/loss", "nb/x.ipynb",
		"nb/.ipynb_checkpoints/x-checkpoint.ipynb", "deep/a/b/c/d.txt", "deep/a/b/c/e.log",
		"deep/a/d.txt", "deep/c", ".hidden", ".env", ".config/settings.json",
		"foo/bar/baz.txt", "foo/baz.txt", "foo/barbaz.txt", "bar/foo/x.txt",
		"x/foo/bar/y.txt", "foobar/baz.txt", "abc", "abd", "a1", "a-b", "a]b", "]b", "aB",
		"#notes", "!bang", "with space.txt", "trail ", " lead", "star*", "q?mark",
		`back\slash`, "br[ck]", "emptydir/", "emptyparent/emptychild/",
	)
}

// files builds a tree of the given paths, each file holding "x".
func files(paths ...string) testutil.Tree {
	t := testutil.Tree{}
	for _, p := range paths {
		t[p] = "x"
		if strings.HasSuffix(p, "/") {
			t[p] = ""
		}
	}
	return t
}

// with returns projectTree plus extra (which may override entries).
func with(extra testutil.Tree) testutil.Tree {
	t := projectTree()
	maps.Copy(t, extra)
	return t
}

// gi builds a project tree with a root .gitignore made of lines.
func gi(lines ...string) testutil.Tree {
	return with(testutil.Tree{".gitignore": strings.Join(lines, "\n") + "\n"})
}

// readTestdata returns a testdata file's content.
func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mlProjectTree is a realistic Azure ML project (as found in the
// MachineLearningNotebooks repository) for the real .amlignore files.
func mlProjectTree() testutil.Tree {
	return files(
		"train.py", "score.py", "config.json", "sub/config.json", "aml_config/local.runconfig",
		"aml_config/conda_dependencies.yml", ".azureml/aml_compute.runconfig",
		".azureml/conda_dependencies.yml", "azureml-logs/70_driver_log.txt",
		"azureml-setup/setup.sh", "outputs/model.pkl", "docs/index.md",
		"docs/_build/html/index.html", ".ipynb_checkpoints/train-checkpoint.py",
		"notebooks/.ipynb_checkpoints/a.ipynb", "notebooks/explore.ipynb",
		"src/__pycache__/util.cpython-38.pyc", "src/util.py", "src/util.pyc", "src/ext.so",
		"src/ext$py.class", "build/lib/x.py", "dist/pkg-1.0.tar.gz", "pkg.egg-info/PKG-INFO",
		".env", ".venv/bin/python", "venv/bin/python", "env/bin/python", "lib/helper.py",
		"var/cache", "site/index.html", "docs/site/x.md", "pythonenv3.8/bin/python",
		".mypy_cache/x", ".pytest_cache/v", ".coverage", ".coverage.host.1",
		"htmlcov/index.html", "run.log", ".config", ".cache/x", "prof.prof", ".prof",
		"Pipfile.lock", "data/audio/clip.wav", "data/.gitkeep", "MANIFEST", "setup.spec",
	)
}

func conformanceCases(t *testing.T) []confCase {
	t.Helper()
	return slices.Concat(syntaxCases(), anchorCases(), globCases(), classCases(),
		nestingCases(), mlCases(t), nameCases(), precedenceCases(t))
}

// syntaxCases: comments, escapes, whitespace, line endings, negation.
func syntaxCases() []confCase {
	return []confCase{
		{name: "no-ignore-file", tree: projectTree()},
		{name: "empty-gitignore", tree: gi("")},
		{name: "comments", tree: gi("# comment", "#train.py", "  # not a comment", "model.py")},
		{name: "escaped-hash", tree: gi(`\#notes`)},
		{name: "unescaped-hash-is-comment", tree: gi("#notes")},
		{name: "escaped-bang", tree: gi(`\!bang`)},
		{name: "bang-alone-and-empty", tree: gi("!", "", "   ", "/", "!/", "//")},
		{name: "trailing-spaces-trimmed", tree: gi("notes.txt   ", "README.md ")},
		{name: "escaped-trailing-space", tree: gi(`trail\ `)},
		{name: "escaped-space-then-spaces", tree: gi(`trail\    `)},
		{name: "unescaped-trailing-space-name", tree: gi("trail ")},
		{name: "leading-space-kept", tree: gi(" lead")},
		{name: "trailing-tab-kept", tree: gi("notes.txt\t")},
		{name: "crlf", tree: with(testutil.Tree{".gitignore": "notes.txt\r\nREADME.md\r\n*.csv\r\n"})},
		{name: "crlf-with-trailing-space", tree: with(testutil.Tree{".gitignore": "notes.txt \r\nabc\r\r\n"})},
		{name: "cr-only-line-endings", tree: with(testutil.Tree{".gitignore": "notes.txt\rREADME.md\r"})},
		{name: "utf8-bom", tree: with(testutil.Tree{".gitignore": "\xef\xbb\xbfnotes.txt\nabc\n"})},
		{name: "no-final-newline", tree: with(testutil.Tree{".gitignore": "abc\nnotes.txt"})},
		{name: "nul-in-line", tree: with(testutil.Tree{".gitignore": "abc\x00def\nnotes.txt\n"})},
		{name: "negation", tree: gi("*.txt", "!notes.txt")},
		{name: "negation-before-pattern-loses", tree: gi("!notes.txt", "*.txt")},
		{name: "negation-toggles-last-wins", tree: gi("*.csv", "!a.csv", "*.csv", "!b.csv")},
		{name: "escaped-star-literal", tree: gi(`star\*`, `q\?mark`)},
		{name: "escaped-backslash", tree: gi(`back\\slash`)},
		{name: "escaped-ordinary-letter", tree: gi(`no\tes.txt`, `\a\b\c`)},
		{name: "trailing-backslash", tree: gi(`notes.txt\`, `abc\`)},
		{name: "dot-slash-prefix-never-matches", tree: gi("./train.py", "./data/")},
		{name: "case-sensitive", tree: gi("readme.md", "*.TXT", "ab")},
	}
}

// anchorCases: "dir/", leading and middle slashes, anchoring.
func anchorCases() []confCase {
	return []confCase{
		{name: "dir-only-pattern", tree: gi("build/")},
		{name: "name-matches-file-and-dir", tree: gi("build")},
		{name: "leading-slash-anchors", tree: gi("/build")},
		{name: "leading-slash-file", tree: gi("/abc", "/baz.txt")},
		{name: "middle-slash-anchors", tree: gi("foo/bar")},
		{name: "middle-slash-dir-only", tree: gi("foo/bar/")},
		{name: "deep-path-no-trailing-slash", tree: gi("deep/a/b/c")},
		{name: "deep-path-dir-only", tree: gi("deep/a/b/c/", "c/")},
		{name: "dir-contents-star", tree: gi("foo/*")},
		{name: "dir-contents-star-slash", tree: gi("foo/*/")},
		{name: "parent-dir-excludes-subtree", tree: gi("data", "!data/.gitkeep", "!data/raw/a.csv")},
		{name: "reinclude-under-excluded-dir", tree: gi("deep/", "!deep/a/d.txt", "!deep/a/", "!deep/")},
		{name: "ml-data-gitkeep", tree: gi("data/*", "!data/.gitkeep")},
		{name: "root-whitelist", tree: gi("/*", "!/src", "!/train.py")},
		{name: "whitelist-idiom", tree: gi("*", "!*/", "!*.py")},
		{name: "whitelist-idiom-with-gitignore", tree: gi("*", "!*/", "!*.py", "!.gitignore")},
		{name: "all-dirs-excluded", tree: gi("*/")},
		{name: "star-slash-then-keep", tree: gi("*/", "!src/")},
		{name: "hidden-files", tree: gi(".*", "!.gitignore")},
		{name: "ignore-file-ignores-itself", tree: gi(".gitignore", "abc")},
		{name: "star-ignore-pattern", tree: gi("*ignore")},
	}
}

// globCases: '*', '?', '**' in every position.
func globCases() []confCase {
	return []confCase{
		{name: "star-ext", tree: gi("*.txt")},
		{name: "star-does-not-cross-slash", tree: gi("deep/*/d.txt")},
		{name: "star-one-level", tree: gi("deep/*/b/c/d.txt")},
		{name: "question-mark", tree: gi("a?", "??")},
		{name: "question-not-slash", tree: gi("foo?baz.txt", "foo?bar")},
		{name: "leading-double-star", tree: gi("**/foo")},
		{name: "leading-double-star-path", tree: gi("**/foo/bar")},
		{name: "leading-double-star-file", tree: gi("**/baz.txt")},
		{name: "trailing-double-star", tree: gi("foo/**")},
		{name: "trailing-double-star-reinclude", tree: gi("foo/**", "!foo/baz.txt", "!foo/bar/baz.txt")},
		{name: "middle-double-star", tree: gi("deep/**/d.txt")},
		{name: "middle-double-star-zero-dirs", tree: gi("foo/**/baz.txt")},
		{name: "middle-double-star-dir", tree: gi("deep/**/c")},
		{name: "double-star-alone", tree: gi("**")},
		{name: "double-star-slash", tree: gi("**/")},
		{name: "double-star-dir-reinclude", tree: gi("deep/**", "!deep/a/b/c/d.txt")},
		{name: "triple-star", tree: gi("deep/***/d.txt", "***.log")},
		{name: "double-star-not-between-slashes", tree: gi("de**p/a/d.txt", "a**d")},
		{name: "double-star-after-literal-prefix", tree: gi("foo**/baz.txt", "fo**/barbaz.txt")},
		{name: "double-star-both-ends", tree: gi("**/foo/**/baz.txt")},
		{name: "double-star-trailing-slash", tree: gi("deep/**/")},
		{name: "double-star-escaped-slash", tree: gi(`deep/**\/d.txt`)},
		{name: "double-star-log", tree: gi("**/*.log", "!deep/**/e.log")},
		{name: "star-log-vs-nested-negation", tree: gi("*.log", "!deep/a/b/c/e.log")},
		{name: "star-alone", tree: gi("*")},
		{name: "star-star-ext", tree: gi("*.*")},
		{name: "star-in-middle", tree: gi("a*b", "*a*")},
		{name: "negated-dir-pattern-after-dir", tree: gi("build/", "!build/")},
		{name: "star-dir-only-suffix", tree: gi("*.egg-info/", "*ld/", "*.py/")},
	}
}

// classCases: bracket expressions.
func classCases() []confCase {
	return []confCase{
		{name: "class-negated-bang", tree: gi("[!a]*", "!*.py")},
		{name: "class-negated-caret", tree: gi("[^a]*", "!*/")},
		{name: "class-digit", tree: gi("a[[:digit:]]", "*[[:upper:]]*")},
		{name: "class-close-bracket-first", tree: gi("[]a]b")},
		{name: "class-range", tree: gi("a[b-d]", "a[A-Z]")},
		{name: "class-reversed-range", tree: gi("a[d-b]")},
		{name: "class-dash-last", tree: gi("a[b-]", "a[-1]")},
		{name: "class-escaped-close", tree: gi(`a[\]]b`, `br[\[c]k]`)},
		{name: "class-unclosed", tree: gi("a[b", "*.t[xt", "abd")},
		{name: "class-unknown-name", tree: gi("[[:bogus:]]*", "abc")},
		{name: "class-not-a-name", tree: gi("[[:digit]]", "a[[]")},
		{name: "class-never-matches-slash", tree: gi("foo[/]bar", "foo[!a]baz.txt")},
		{name: "class-alpha-alnum-punct", tree: gi("[[:punct:]]*", "[[:alpha:]][[:alnum:]]")},
		{name: "class-space", tree: with(testutil.Tree{
			".gitignore": "*[[:space:]]*\n*[[:blank:]]*\n",
			"tab\tname":  "x", "vt\vname": "x", "ff\fname": "x", "cr\rname": "x",
		})},
		{name: "class-cntrl-print-graph-xdigit", tree: with(testutil.Tree{
			".gitignore":  "*[[:cntrl:]]*\n[[:xdigit:]][[:xdigit:]][[:xdigit:]]\n[[:graph:]][[:print:]]\n",
			"esc\x1bname": "x", "del\x7fname": "x", "fab": "x", "xab": "x",
		})},
		{name: "class-lower-upper", tree: gi("[[:lower:]][[:upper:]]", "[[:upper:]]*[[:lower:]]")},
	}
}

// nestingCases: nested ignore files and precedence between them.
func nestingCases() []confCase {
	return []confCase{
		{name: "nested-simple", tree: with(testutil.Tree{"src/.gitignore": "*.pyc\n"})},
		{name: "nested-negates-parent", tree: with(testutil.Tree{
			".gitignore": "*.log\n", "deep/a/.gitignore": "!*.log\n",
		})},
		{name: "nested-anchored-relative-to-its-dir", tree: with(testutil.Tree{
			"src/.gitignore": "/pkg/mod.py\n/tests\n",
		})},
		{name: "nested-middle-slash", tree: with(testutil.Tree{"foo/.gitignore": "bar/baz.txt\n"})},
		{name: "nested-double-star", tree: with(testutil.Tree{"src/.gitignore": "**/mod.py\n**/build\n"})},
		{name: "nested-cannot-reinclude-excluded-dir", tree: with(testutil.Tree{
			".gitignore": "deep/a/\n", "deep/a/.gitignore": "!b\n!d.txt\n",
		})},
		{name: "deeper-file-wins", tree: with(testutil.Tree{
			".gitignore": "*.txt\n", "foo/.gitignore": "!baz.txt\n", "foo/bar/.gitignore": "baz.txt\n",
		})},
		{name: "nested-negation-chain", tree: with(testutil.Tree{
			".gitignore": "deep/**/*.txt\n", "deep/.gitignore": "!a/d.txt\n",
			"deep/a/b/.gitignore": "!*.txt\n*.log\n",
		})},
		{name: "nested-file-excluded-by-parent-rule", tree: with(testutil.Tree{
			".gitignore": "**/.gitignore\n", "src/.gitignore": "*.pyc\n",
		})},
		{name: "nested-dir-rule-applies-to-own-dir-only", tree: with(testutil.Tree{
			"foo/.gitignore": "/baz.txt\nbar/\n", "bar/.gitignore": "foo\n",
		})},
		{name: "nested-empty-and-comment-only", tree: with(testutil.Tree{
			".gitignore": "*.csv\n", "data/.gitignore": "# nothing\n",
		})},
		{name: "nested-star-everything-but-self", tree: with(testutil.Tree{
			"logs/.gitignore": "*\n!.gitignore\n",
		})},
		{name: "nested-git-file-and-empty-git-dir", tree: with(testutil.Tree{
			"sub/.git": "gitdir: nowhere\n", "sub/f.py": "x", "sub2/.git/": "", "sub2/g.py": "x",
		})},
		{name: "gitignore-is-a-directory", tree: with(testutil.Tree{
			"src/.gitignore/x.py": "x", ".gitignore": "*.pyc\n",
		})},
		{name: "five-levels-each-with-rules", tree: with(testutil.Tree{
			"l1/.gitignore": "*.a\n", "l1/l2/.gitignore": "!x.a\n*.b\n", "l1/l2/l3/.gitignore": "!*.b\n/l4/y.*\n",
			"l1/l2/l3/l4/.gitignore": "!y.a\n", "l1/l2/l3/l4/l5/.gitignore": "*\n!x.*\n",
			"l1/x.a": "x", "l1/l2/x.a": "x", "l1/l2/y.a": "x", "l1/l2/l3/x.b": "x",
			"l1/l2/l3/l4/y.a": "x", "l1/l2/l3/l4/y.b": "x", "l1/l2/l3/l4/l5/x.a": "x", "l1/l2/l3/l4/l5/z": "x",
		})},
		{name: "symlinked-gitignore-not-followed", tree: with(testutil.Tree{
			"src/.gitignore": "->../rules.txt", "rules.txt": "*.py\n",
		})},
	}
}

// mlCases: the usual ML ignore idioms and the real Azure ML files.
func mlCases(t *testing.T) []confCase {
	rootAML := readTestdata(t, "aml/repo-root.amlignore")
	etlAML := readTestdata(t, "aml/etl-audio-pipeline.amlignore")
	ml := func(extra testutil.Tree) testutil.Tree {
		tree := mlProjectTree()
		maps.Copy(tree, extra)
		return tree
	}
	return []confCase{
		{name: "ml-pycache", tree: gi("__pycache__/", "*.py[cod]")},
		{name: "ml-checkpoints-outputs", tree: gi("*.ckpt", "outputs/", "mlruns/", ".ipynb_checkpoints")},
		{name: "ml-logs-and-env", tree: gi("logs/", "*.log", ".env", ".config/")},
		{name: "ml-python-gitignore-as-gitignore", tree: ml(testutil.Tree{".gitignore": etlAML})},
		{name: "aml-repo-root-amlignore", tree: ml(testutil.Tree{".amlignore": rootAML})},
		{name: "aml-etl-amlignore", tree: ml(testutil.Tree{".amlignore": etlAML})},
		{name: "aml-amlignore-beats-conflicting-gitignore", tree: ml(testutil.Tree{
			".amlignore": rootAML, ".gitignore": "*.py\n!outputs/\n.amlignore\n",
		})},
		{name: "aml-etl-beats-gitignore-that-keeps-all", tree: ml(testutil.Tree{
			".amlignore": etlAML, ".gitignore": "!*\n",
		})},
		{name: "aml-amlignore-in-subdir", tree: ml(testutil.Tree{
			".gitignore": "*.log\n", "src/.amlignore": "*.so\n", "src/.gitignore": "*.py\n",
		})},
		{name: "aml-both-files-nested", tree: ml(testutil.Tree{
			".amlignore": rootAML, "notebooks/.amlignore": "*.ipynb\n!.ipynb_checkpoints\n",
		})},
	}
}

// nameCases: byte names, Unicode, spaces, leading '#' and '!', symlinks,
// special files and ferry's own directory.
func nameCases() []confCase {
	names := testutil.Tree{
		"caf\xe9.py": "latin-1 name", "caf\u00e9.txt": "NFC", "cafe\u0301.txt": "NFD",
		"dir\xff/inner.py": "x", "日本/データ.csv": "x",
	}
	links := testutil.Tree{
		"link.py": "->train.py", "dirlink": "->data", "dangling": "->does/not/exist",
		"outside": "->/etc/passwd", "build2": "->build",
	}
	return []confCase{
		{name: "non-utf8-listed", tree: with(names)},
		{name: "non-utf8-literal-pattern", tree: with(merge(names, testutil.Tree{".gitignore": "caf\xe9.py\ndir\xff/\n"}))},
		{name: "non-utf8-question-matches-one-byte", tree: with(merge(names, testutil.Tree{".gitignore": "caf?.py\n"}))},
		{name: "unicode-nfc-pattern", tree: with(merge(names, testutil.Tree{".gitignore": "caf\u00e9.txt\n"}))},
		{name: "unicode-nfd-pattern", tree: with(merge(names, testutil.Tree{".gitignore": "cafe\u0301.txt\n"}))},
		{name: "unicode-question-bytes", tree: with(merge(names, testutil.Tree{".gitignore": "caf??.txt\n日本/*.csv\n"}))},
		{name: "unicode-class-bytes", tree: with(merge(names, testutil.Tree{".gitignore": "caf[\xc3][\xa9].txt\n"}))},
		{name: "spaces-in-names", tree: gi("with space.txt", `\ lead`)},
		{name: "single-space-name", tree: with(testutil.Tree{" ": "x", "  ": "x", ".gitignore": "\\ \n"})},
		{name: "hash-and-bang-inside-names", tree: with(testutil.Tree{"a#b": "x", "a!b": "x", ".gitignore": "a#b\na!*\n"})},
		{name: "escaped-space-glob", tree: gi(`*\ *`)},
		{name: "symlinks-listed", tree: with(links)},
		{name: "symlink-dir-pattern-no-match", tree: with(merge(links, testutil.Tree{".gitignore": "dirlink/\nbuild2/\n"}))},
		{name: "symlink-name-pattern", tree: with(merge(links, testutil.Tree{".gitignore": "dirlink\n*.py\n"}))},
		{name: "fifo-skipped", tree: projectTree(), fifos: []string{"pipe", "src/pipe2"}},
		{name: "fifo-ignored", tree: gi("pipe"), fifos: []string{"pipe"}},
		{name: "ferry-dir-at-root", tree: with(testutil.Tree{
			".ferry/statcache": "x", "src/.ferry/kept": "x", ".ferryx": "x",
		})},
	}
}

// precedenceCases: .ferryignore over .amlignore over .gitignore.
func precedenceCases(t *testing.T) []confCase {
	rootAML := readTestdata(t, "aml/repo-root.amlignore")
	return []confCase{
		{name: "ferryignore-beats-all", tree: with(testutil.Tree{
			".ferryignore": "*.csv\n", ".amlignore": "*.py\n", ".gitignore": "*.txt\n",
		})},
		{name: "amlignore-beats-gitignore", tree: with(testutil.Tree{
			".amlignore": "*.py\n", ".gitignore": "*.txt\n",
		})},
		{name: "ferryignore-excludes-itself", tree: with(testutil.Tree{
			".ferryignore": ".ferryignore\n.gitignore\n", ".gitignore": "*\n",
		})},
		{name: "empty-ferryignore-overrides-gitignore", tree: with(testutil.Tree{
			".ferryignore": "", ".gitignore": "*\n",
		})},
		{name: "ferryignore-in-subdir-only", tree: with(testutil.Tree{
			".gitignore": "*.txt\n", "foo/.ferryignore": "!*.txt\nbar/\n", "foo/.gitignore": "*\n",
		})},
		{name: "amlignore-and-ferryignore-nested", tree: with(testutil.Tree{
			".amlignore": rootAML + "\n*.csv\n", "data/.ferryignore": "!*.csv\n", "data/raw/.amlignore": "b.csv\n",
		})},
		{name: "ferryignore-is-a-directory", tree: with(testutil.Tree{
			"src/.ferryignore/rules": "*.py\n", "src/.gitignore": "*.pyc\n",
		})},
		{name: "symlinked-ferryignore-falls-back", tree: with(testutil.Tree{
			"src/.ferryignore": "->../notes.txt", "src/.gitignore": "*.pyc\n",
		})},
	}
}

func merge(a, b testutil.Tree) testutil.Tree {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}
