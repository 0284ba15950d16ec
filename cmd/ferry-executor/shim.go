package main

import "github.com/ferry-ml/ferry/executor/runner"

// runShim is "ferry-executor shim ...": the per-run supervisor, which
// outlives the daemon (package runner).
func runShim(args []string) int { return runner.Shim(args) }
