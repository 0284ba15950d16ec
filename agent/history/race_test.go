//go:build race

package history

// slowdown scales timing limits: the race detector instruments every memory
// access of the pure-Go SQLite, making queries about 20 times slower.
const slowdown = 20
