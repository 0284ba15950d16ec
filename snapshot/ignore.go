package snapshot

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Ignore rules follow git's dir.c (add_patterns_from_buffer, add_pattern,
// match_basename, match_pathname, last_matching_pattern_from_lists) so that
// the snapshot equals `git ls-files -o --exclude-standard`. The one change:
// a directory's .ferryignore, else its .amlignore, is read instead of its
// .gitignore. Only regular files count as ignore files: like git (2.32+),
// a symlinked ignore file is never followed.

// ignoreFileNames lists the per-directory ignore files in order of
// precedence; only the first one present in a directory is read.
var ignoreFileNames = [...]string{".ferryignore", ".amlignore", ".gitignore"}

// IsIgnoreFile reports whether name (a base name) is one of the
// per-directory ignore files (.ferryignore, .amlignore, .gitignore), so a
// watcher knows when to call IgnoreChecker.Invalidate.
func IsIgnoreFile(name string) bool {
	for _, n := range ignoreFileNames {
		if name == n {
			return true
		}
	}
	return false
}

// patternFlags mirror git's PATTERN_FLAG_*.
type patternFlags uint8

const (
	flagNegative  patternFlags = 1 << iota // "!pattern"
	flagMustBeDir                          // "pattern/": directories only
	flagNoDir                              // no '/' inside: match the base name
	flagEndsWith                           // "*literal": suffix compare
)

// ignorePattern is one parsed line of an ignore file.
type ignorePattern struct {
	text   string // without the leading '!' and the trailing '/'
	prefix int    // length of the leading part free of glob characters
	flags  patternFlags
}

// ignoreFile holds the patterns of one ignore file, in file order.
type ignoreFile struct {
	base     string // directory holding the file, relative to root; "" for root
	patterns []ignorePattern
}

// ruleChain is the stack of ignore files that apply in a directory, the
// deepest first (git consults the deepest file with a match first).
type ruleChain struct {
	file   *ignoreFile
	parent *ruleChain
}

// readIgnoreFile reads and parses the ignore file at abs, whose directory
// is base (relative to the walk root).
func readIgnoreFile(abs, base string) (*ignoreFile, error) {
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("read ignore file: %w", err)
	}
	return parseIgnoreFile(data, base), nil
}

// parseIgnoreFile parses ignore-file content like git's
// add_patterns_from_buffer: a UTF-8 BOM is skipped, lines split on '\n'
// with one '\r' before it dropped, empty lines and lines starting with '#'
// skipped, each line cut at a NUL byte, unescaped trailing spaces trimmed.
func parseIgnoreFile(data []byte, base string) *ignoreFile {
	f := &ignoreFile{base: base}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if i := bytes.IndexByte(line, 0); i >= 0 {
			line = line[:i]
		}
		f.patterns = append(f.patterns, parsePattern(trimTrailingSpaces(string(line))))
	}
	return f
}

// trimTrailingSpaces drops trailing spaces unless backslash-escaped (git's
// trim_trailing_spaces; tabs are kept).
func trimTrailingSpaces(s string) string {
	lastSpace := -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ':
			if lastSpace < 0 {
				lastSpace = i
			}
		case '\\':
			i++
			if i >= len(s) {
				return s
			}
			lastSpace = -1
		default:
			lastSpace = -1
		}
	}
	if lastSpace >= 0 {
		return s[:lastSpace]
	}
	return s
}

// parsePattern is git's parse_path_pattern.
func parsePattern(s string) ignorePattern {
	var p ignorePattern
	if strings.HasPrefix(s, "!") {
		p.flags |= flagNegative
		s = s[1:]
	}
	full := s
	if strings.HasSuffix(s, "/") {
		p.flags |= flagMustBeDir
		s = s[:len(s)-1]
	}
	if !strings.Contains(s, "/") {
		p.flags |= flagNoDir
	}
	p.prefix = min(simpleLength(full), len(s))
	if strings.HasPrefix(full, "*") && simpleLength(full[1:]) == len(full)-1 {
		p.flags |= flagEndsWith
	}
	p.text = s
	return p
}

// simpleLength is the length of the leading part of s without glob
// characters.
func simpleLength(s string) int {
	for i := 0; i < len(s); i++ {
		if isGlobSpecial(s[i]) {
			return i
		}
	}
	return len(s)
}

// excluded reports whether path (relative to the root, "/"-separated, base
// name name) is excluded by the chain: the deepest file with a matching
// pattern decides, and within a file the last matching pattern.
func (c *ruleChain) excluded(path, name string, isDir bool) bool {
	for ; c != nil; c = c.parent {
		if p := c.file.lastMatch(path, name, isDir); p != nil {
			return p.flags&flagNegative == 0
		}
	}
	return false
}

// lastMatch is git's last_matching_pattern_from_list.
func (f *ignoreFile) lastMatch(path, name string, isDir bool) *ignorePattern {
	for i := len(f.patterns) - 1; i >= 0; i-- {
		p := &f.patterns[i]
		if p.flags&flagMustBeDir != 0 && !isDir {
			continue
		}
		if p.flags&flagNoDir != 0 {
			if p.matchBasename(name) {
				return p
			}
			continue
		}
		if p.matchPathname(path, f.base) {
			return p
		}
	}
	return nil
}

// matchBasename is git's match_basename.
func (p *ignorePattern) matchBasename(name string) bool {
	switch {
	case p.prefix == len(p.text):
		return name == p.text
	case p.flags&flagEndsWith != 0:
		return strings.HasSuffix(name, p.text[1:])
	default:
		return wildmatch(p.text, name, false)
	}
}

// matchPathname is git's match_pathname: the pattern is anchored at base,
// the directory of its ignore file. As in git, the literal prefix is
// compared first and only the rest goes to wildmatch (which makes a "**"
// right after the prefix act as a leading "**").
func (p *ignorePattern) matchPathname(path, base string) bool {
	pat, prefix := p.text, p.prefix
	if strings.HasPrefix(pat, "/") {
		pat, prefix = pat[1:], prefix-1
	}
	name := path
	if base != "" {
		if len(path) < len(base)+1 || path[len(base)] != '/' || path[:len(base)] != base {
			return false
		}
		name = path[len(base)+1:]
	}
	if prefix > 0 {
		if prefix > len(name) || pat[:prefix] != name[:prefix] {
			return false
		}
		pat, name = pat[prefix:], name[prefix:]
		if pat == "" && name == "" {
			return true
		}
	}
	return wildmatch(pat, name, true)
}
