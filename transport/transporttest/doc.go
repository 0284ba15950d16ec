// Package transporttest helps tests reach a real sshd started by
// testutil.StartSSHD through package transport.
package transporttest
