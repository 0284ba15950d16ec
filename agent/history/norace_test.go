//go:build !race

package history

// slowdown scales timing limits; see race_test.go.
const slowdown = 1
