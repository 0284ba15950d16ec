// Package testutil holds helpers shared by ferry's tests: prerequisites,
// declarative file trees, real sshd and container targets, network faults.
package testutil
