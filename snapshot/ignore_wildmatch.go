package snapshot

import "strings"

// This file is a line-by-line port of git's wildmatch.c (the matcher git
// uses for .gitignore patterns), including its quirks, so that ferry agrees
// with git byte for byte. Character classes use git's own ctype table
// (git-compat-util.h sane_ctype): ASCII only, and [[:space:]] is
// "\t\n\r " (no \v or \f).

// Results of dowild, as in wildmatch.c.
const (
	wmMatch           = 0
	wmNoMatch         = 1
	wmAbortAll        = -1
	wmAbortToStarStar = -2
)

// wildmatch reports whether text matches the glob pattern. With pathname
// set (git's WM_PATHNAME), '*' and '?' do not match '/' and "**" between
// slashes matches any number of directories.
func wildmatch(pattern, text string, pathname bool) bool {
	return dowild(pattern, text, pathname) == wmMatch
}

// byteAt returns s[i], or 0 past the end: the port relies on C's NUL
// terminator, and neither names nor (NUL-truncated) patterns contain NUL.
func byteAt(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func isGlobSpecial(c byte) bool {
	return c == '*' || c == '?' || c == '[' || c == '\\'
}

// dowild matches p against text. Each call treats the start of its own p
// as the pattern start, exactly like the C recursion.
func dowild(p, text string, pathname bool) int {
	pi, ti := 0, 0
	for ; pi < len(p); pi, ti = pi+1, ti+1 {
		pch, tch := p[pi], byteAt(text, ti)
		if tch == 0 && pch != '*' {
			return wmAbortAll
		}
		switch pch {
		case '\\':
			// Literal match with the next pattern byte; a trailing
			// backslash (pch 0) never matches.
			pi++
			if tch != byteAt(p, pi) {
				return wmNoMatch
			}
		case '?':
			if pathname && tch == '/' {
				return wmNoMatch
			}
		case '*':
			var res int
			var done bool
			pi, ti, res, done = matchStar(p, pi, text, ti, pathname)
			if done {
				return res
			}
		case '[':
			var res int
			pi, res = matchClass(p, pi, tch, pathname)
			if res != wmMatch {
				return res
			}
		default:
			if tch != pch {
				return wmNoMatch
			}
		}
	}
	if ti < len(text) {
		return wmNoMatch
	}
	return wmMatch
}

// matchStar handles a '*' (or run of them) at p[pi]. It either finishes the
// match (done, res) or, for "*/" under pathname, moves ti to the next slash
// and returns positions for the main loop to continue from.
func matchStar(p string, pi int, text string, ti int, pathname bool) (int, int, int, bool) {
	matchSlash := !pathname
	pi++
	if byteAt(p, pi) == '*' {
		prev := pi - 2
		for pi++; byteAt(p, pi) == '*'; pi++ {
		}
		c := byteAt(p, pi)
		if !pathname {
			matchSlash = true // without pathname, '*' == '**'
		} else if (prev < 0 || p[prev] == '/') &&
			(c == 0 || c == '/' || (c == '\\' && byteAt(p, pi+1) == '/')) {
			// "**/" may match nothing: try the rest right here.
			if c == '/' && dowild(p[pi+1:], text[ti:], pathname) == wmMatch {
				return 0, 0, wmMatch, true
			}
			matchSlash = true
		} else {
			matchSlash = false
		}
	}
	if pi >= len(p) {
		// Trailing "**" matches everything; trailing "*" only if no
		// slash follows.
		if !matchSlash && strings.IndexByte(text[ti:], '/') >= 0 {
			return 0, 0, wmNoMatch, true
		}
		return 0, 0, wmMatch, true
	}
	if !matchSlash && p[pi] == '/' {
		// One '*' then '/' under pathname matches the next directory;
		// the main loop consumes both slashes.
		slash := strings.IndexByte(text[ti:], '/')
		if slash < 0 {
			return 0, 0, wmNoMatch, true
		}
		return pi, ti + slash, 0, false
	}
	return 0, 0, starLoop(p[pi:], text, ti, matchSlash, pathname), true
}

// starLoop tries the rest of the pattern at every position of text from ti.
func starLoop(rest, text string, ti int, matchSlash, pathname bool) int {
	for tch := byteAt(text, ti); tch != 0; {
		if c := rest[0]; !isGlobSpecial(c) {
			// Advance quickly to the next occurrence of the literal; the
			// text before it must belong to the star.
			for tch = byteAt(text, ti); tch != 0 && (matchSlash || tch != '/'); tch = byteAt(text, ti) {
				if tch == c {
					break
				}
				ti++
			}
			if tch != c {
				return wmNoMatch
			}
		}
		if m := dowild(rest, text[ti:], pathname); m != wmNoMatch {
			if !matchSlash || m != wmAbortToStarStar {
				return m
			}
		} else if !matchSlash && tch == '/' {
			return wmAbortToStarStar
		}
		ti++
		tch = byteAt(text, ti)
	}
	return wmAbortAll
}

// matchClass matches tch against the bracket expression starting at
// p[pi] == '['. It returns the index of the closing ']' and wmMatch, or a
// failure result. A class that is never closed aborts the whole match.
func matchClass(p string, pi int, tch byte, pathname bool) (int, int) {
	pi++
	pch := byteAt(p, pi)
	if pch == '^' {
		pch = '!'
	}
	negated := pch == '!'
	if negated {
		pi++
		pch = byteAt(p, pi)
	}
	var prev byte
	matched := false
	for {
		if pch == 0 {
			return pi, wmAbortAll
		}
		switch {
		case pch == '\\':
			pi++
			pch = byteAt(p, pi)
			if pch == 0 {
				return pi, wmAbortAll
			}
			if tch == pch {
				matched = true
			}
		case pch == '-' && prev != 0 && byteAt(p, pi+1) != 0 && byteAt(p, pi+1) != ']':
			pi++
			pch = p[pi]
			if pch == '\\' {
				pi++
				pch = byteAt(p, pi)
				if pch == 0 {
					return pi, wmAbortAll
				}
			}
			if tch <= pch && tch >= prev {
				matched = true
			}
			pch = 0 // a range cannot start another range
		case pch == '[' && byteAt(p, pi+1) == ':':
			var res int
			var ok bool
			pi, pch, ok, res = matchNamedClass(p, pi, tch)
			if res != wmMatch {
				return pi, res
			}
			if ok {
				matched = true
			}
		case tch == pch:
			matched = true
		}
		prev = pch
		pi++
		if pch = byteAt(p, pi); pch == ']' {
			break
		}
	}
	if matched == negated || (pathname && tch == '/') {
		return pi, wmNoMatch
	}
	return pi, wmMatch
}

// matchNamedClass handles "[:name:]" inside a bracket expression at p[pi]
// == '['. It returns the new position, the byte to remember as the
// previous one, whether tch is in the class, and wmAbortAll for an
// unterminated or unknown class. Without ":]" the '[' is an ordinary
// member.
func matchNamedClass(p string, pi int, tch byte) (int, byte, bool, int) {
	s := pi + 2
	end := s
	for byteAt(p, end) != 0 && p[end] != ']' {
		end++
	}
	if byteAt(p, end) == 0 {
		return end, 0, false, wmAbortAll
	}
	if end-s-1 < 0 || p[end-1] != ':' {
		return pi, '[', tch == '[', wmMatch
	}
	in, known := inNamedClass(p[s:end-1], tch)
	if !known {
		return end, 0, false, wmAbortAll
	}
	return end, 0, in, wmMatch
}

// inNamedClass reports whether c is in the POSIX class name, using git's
// ctype semantics (ASCII only).
func inNamedClass(name string, c byte) (in, known bool) {
	lower := c >= 'a' && c <= 'z'
	upper := c >= 'A' && c <= 'Z'
	digit := c >= '0' && c <= '9'
	switch name {
	case "alnum":
		return lower || upper || digit, true
	case "alpha":
		return lower || upper, true
	case "blank":
		return c == ' ' || c == '\t', true
	case "cntrl":
		return c < 0x20 || c == 0x7f, true
	case "digit":
		return digit, true
	case "graph":
		return c > 0x20 && c < 0x7f, true
	case "lower":
		return lower, true
	case "print":
		return c >= 0x20 && c < 0x7f, true
	case "punct":
		return c > 0x20 && c < 0x7f && !lower && !upper && !digit, true
	case "space":
		return c == ' ' || c == '\t' || c == '\n' || c == '\r', true
	case "upper":
		return upper, true
	case "xdigit":
		return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'), true
	}
	return false, false
}
