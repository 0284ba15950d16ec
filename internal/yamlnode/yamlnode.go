// Package yamlnode holds the YAML node helpers that the conda and
// runconfig parsers share: errors that name a line, duplicate-key-checked
// mapping pairs, alias resolution.
package yamlnode

import (
	"bytes"
	"fmt"
	"regexp"
	"sync"

	"go.yaml.in/yaml/v3"
)

// ParseError is YAML that parses but has the wrong shape.
type ParseError struct {
	Line int
	Msg  string
}

// Error returns "line N: msg".
func (e *ParseError) Error() string {
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// maxLocateLines bounds the re-parsing Syntax does to place an error.
const maxLocateLines = 5000

// SyntaxError is malformed YAML. The YAML parser reports the line where
// the enclosing block or flow collection starts (often line 1), so Line is
// found by re-parsing: it is the first line after the longest run of whole
// lines that parses, which is where the file stops making sense.
type SyntaxError struct {
	Line int   // 0 when the file is too long to locate the error in
	Err  error // the YAML parser's own error
}

// Error returns "line N: invalid YAML (parser message)". The parser's own
// "yaml: line M:" prefix is left out: M is where the enclosing collection
// starts, and a second line number only confuses.
func (e *SyntaxError) Error() string {
	msg := parserPrefix().ReplaceAllString(e.Err.Error(), "")
	if e.Line == 0 {
		return fmt.Sprintf("invalid YAML (%s)", msg)
	}
	return fmt.Sprintf("line %d: invalid YAML (%s)", e.Line, msg)
}

// parserPrefix is the location the YAML parser puts before its messages.
var parserPrefix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: (line \d+: )?`) })

// Unwrap returns the parser's error.
func (e *SyntaxError) Unwrap() error {
	return e.Err
}

// Syntax wraps err, the error from parsing data, in a SyntaxError.
func Syntax(data []byte, err error) *SyntaxError {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > maxLocateLines {
		return &SyntaxError{Line: 0, Err: err}
	}
	for k := len(lines) - 1; k > 0; k-- {
		var n yaml.Node
		if yaml.Unmarshal(bytes.Join(lines[:k], nil), &n) == nil {
			return &SyntaxError{Line: k + 1, Err: err}
		}
	}
	return &SyntaxError{Line: 1, Err: err}
}

// Pairs returns the key/value pairs of mapping node m, with aliases
// resolved, and rejects duplicate keys (the YAML spec forbids them, and
// Azure ML's loader refuses them).
func Pairs(m *yaml.Node) ([][2]*yaml.Node, error) {
	seen := make(map[string]int, len(m.Content)/2)
	out := make([][2]*yaml.Node, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := Resolve(m.Content[i]), Resolve(m.Content[i+1])
		if first, dup := seen[k.Value]; dup {
			return nil, &ParseError{Line: k.Line, Msg: fmt.Sprintf("duplicate key %q (first at line %d)", k.Value, first)}
		}
		seen[k.Value] = k.Line
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out, nil
}

// Resolve follows an alias to the node it names.
func Resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}
