package executor

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound is returned when a snapshot (or other named object) does not
// exist.
var ErrNotFound = errors.New("not found")

// ErrNoSpace is returned when the state directory's file system is full.
// Whatever the failed operation had written is removed first.
var ErrNoSpace = errors.New("no space left on the executor's file system")

// ErrLocked is returned by Lock when another daemon holds the state
// directory.
var ErrLocked = errors.New("state directory is locked by another executor")

// MissingBlobsError is returned when a manifest names blobs the store lacks.
type MissingBlobsError struct {
	Missing []string // hex ids
}

func (e *MissingBlobsError) Error() string {
	show := e.Missing
	if len(show) > 3 {
		show = show[:3]
	}
	return fmt.Sprintf("%d blobs missing (%s...)", len(e.Missing), strings.Join(show, ", "))
}

// RequestError marks an error caused by a malformed request (bad id, bad
// pack name, undecodable manifest).
type RequestError struct{ Err error }

func (e *RequestError) Error() string { return e.Err.Error() }
func (e *RequestError) Unwrap() error { return e.Err }

func badRequest(format string, args ...any) error {
	return &RequestError{Err: fmt.Errorf(format, args...)}
}
