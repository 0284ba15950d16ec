// Package client is the agent-side Go client of the executor's HTTP API
// (package api). It speaks HTTP/1.1 over any connection a dial function
// returns: an SSH-forwarded unix socket, a stdio proxy, or the socket
// itself for the local target. Connections are kept alive and reused.
package client
