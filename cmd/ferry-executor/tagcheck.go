//go:build cgo

package main

// The executor is copied to machines whose C library we do not know: it
// must be built with CGO_ENABLED=0. This file only compiles into a cgo
// build, and makes such a build refuse to run.
func init() { panic("ferry-executor was built with cgo; build it with CGO_ENABLED=0") }
