//go:build !unix

package history

// lockOpen is a no-op where flock is not available.
func lockOpen(string) (func(), error) { return func() {}, nil }
