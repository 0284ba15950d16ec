package conda

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// maxLocateLines bounds the re-parsing syntaxError does to place an error.
const maxLocateLines = 5000

// SyntaxError is malformed YAML. The YAML parser reports the line where
// the enclosing block or flow collection starts (often line 1), so Line is
// found by re-parsing: it is the first line after the longest run of whole
// lines that parses, which is where the file stops making sense.
type SyntaxError struct {
	Line int   // 0 when the file is too long to locate the error in
	Err  error // the YAML parser's own error
}

// Error returns "line N: invalid YAML (parser message)".
func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("invalid YAML (%v)", e.Err)
	}
	return fmt.Sprintf("line %d: invalid YAML (%v)", e.Line, e.Err)
}

// Unwrap returns the parser's error.
func (e *SyntaxError) Unwrap() error {
	return e.Err
}

// syntaxError wraps err, the error from parsing data, in a SyntaxError.
func syntaxError(data []byte, err error) *SyntaxError {
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
