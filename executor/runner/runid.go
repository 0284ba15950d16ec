package runner

import (
	"errors"
	"fmt"
	"regexp"
)

// ErrInvalidRunID is returned for a run id outside [A-Za-z0-9_.-]{1,64} or
// one that could name a parent directory.
var ErrInvalidRunID = errors.New("invalid run id")

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// validateRunID checks that id is safe to use as a directory name.
func validateRunID(id string) error {
	if !runIDPattern.MatchString(id) || id == "." || id == ".." {
		return fmt.Errorf("%w: %q", ErrInvalidRunID, id)
	}
	return nil
}
