// Package keeper keeps SSH connections to compute targets open between
// ferry commands, as OpenSSH's ControlPersist does. A keeper is a small
// per-user process that listens on a unix socket in a 0700 folder of
// $FERRY_HOME (the socket itself 0600, and every peer's uid checked); it
// holds one authenticated transport.Client per target, dialled with the
// same code and the same host key checks as a command's own connection
// (never accepting a new host key: a host that is not yet known makes the
// command dial itself, as before), re-dials one that died, and exits once
// no command has used it for its idle time.
//
// Each request is one connection to the keeper: a JSON request line, a
// JSON response line, then the stream the request asked for: a unix
// socket on the target (the executor's), a remote command's framed stdio,
// or, for a watch, nothing until the target's connection ends.
package keeper
