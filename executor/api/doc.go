// Package api holds the wire types shared by the agent and the executor.
//
// It is a leaf package: it imports nothing from ferry. The executor serves
// HTTP/1.1 on a unix socket under its state directory; the agent reaches that
// socket through an SSH streamlocal forward (or a stdio proxy, or directly
// for the local target). Every request and response body is JSON except log
// streams (raw bytes) and pack uploads (which travel over SFTP).
package api
