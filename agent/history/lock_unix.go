//go:build unix

package history

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockOpen holds an exclusive lock on path+".lock" while a process creates
// or migrates the database. SQLite answers SQLITE_BUSY, without waiting out
// the busy timeout, to a connection that meets another one switching a
// fresh database to WAL mode; ferry commands started at once on a new
// FERRY_HOME would fail that way. The kernel drops the lock if its holder
// dies.
func lockOpen(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock: %w", err)
	}
	return func() { f.Close() }, nil
}
