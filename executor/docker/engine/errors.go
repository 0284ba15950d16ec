package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Error is an answer of the engine with an HTTP status of 400 or more.
type Error struct {
	// Status is the HTTP status, e.g. 404.
	Status int
	// Message is the engine's own text, e.g. "No such image: x:latest".
	Message string
}

// Error implements error: the engine's message, as the docker CLI shows it.
func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("docker engine answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return "Error response from daemon: " + e.Message
}

// IsNotFound reports whether err is the engine saying that what was named
// (an image, a container) does not exist.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict reports whether err is the engine refusing a change that
// conflicts with the current state (an image in use, a name taken).
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

// hasStatus reports whether err is an *Error with that status.
func hasStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// ConnectError is a failure to reach the engine's socket or port at all.
type ConnectError struct {
	Err error
}

// Error implements error: the dial's own text, which names the socket or
// address ("dial unix /var/run/docker.sock: connect: permission denied").
func (e *ConnectError) Error() string { return e.Err.Error() }

// Unwrap returns the dial's error (a permission error stays one).
func (e *ConnectError) Unwrap() error { return e.Err }

// IsConnectError reports whether err is a failure to reach the engine.
func IsConnectError(err error) bool {
	var e *ConnectError
	return errors.As(err, &e)
}

// readError turns an error answer into an *Error, its message taken from
// the JSON body ({"message": "..."}) or, failing that, the body's text.
func readError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Status: resp.StatusCode}
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		e.Message = m.Message
	} else {
		e.Message = strings.TrimSpace(string(body))
	}
	return e
}
