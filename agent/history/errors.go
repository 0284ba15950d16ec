package history

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound is returned (wrapped) when no run matches an id or prefix.
var ErrNotFound = errors.New("run not found")

// MinPrefix is the shortest id prefix Get accepts in place of a full id.
const MinPrefix = 4

// AmbiguousError is returned by Get when a prefix matches several runs.
type AmbiguousError struct {
	Prefix  string
	Matches []string // some of the matching ids, sorted; at most maxMatches
}

// maxMatches caps AmbiguousError.Matches.
const maxMatches = 10

// Error implements error.
func (e *AmbiguousError) Error() string {
	more := ""
	if len(e.Matches) >= maxMatches {
		more = ", ..."
	}
	return fmt.Sprintf("run id prefix %q is ambiguous: matches %s%s", e.Prefix, strings.Join(e.Matches, ", "), more)
}
