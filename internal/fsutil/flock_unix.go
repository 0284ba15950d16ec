//go:build unix

package fsutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// ErrLocked is returned by TryLock when another holder has the lock.
var ErrLocked = errors.New("locked by another process")

// lockPoll is how often Lock tries again while the lock is held.
const lockPoll = 100 * time.Millisecond

// FileLock is a held flock(2) lock on a file. It is released by Unlock,
// or by the holder's death: a crashed holder never leaves it stuck.
type FileLock struct{ f *os.File }

// TryLock takes the exclusive lock on path (created 0600 if missing)
// without waiting: ErrLocked when another holder has it.
func TryLock(path string) (*FileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &FileLock{f: f}, nil
}

// Lock takes the exclusive lock on path, waiting until it is free or ctx
// ends. waiting is called once if the lock is held by someone else.
// flock(2) cannot be interrupted by a context, hence the polling.
func Lock(ctx context.Context, path string, waiting func()) (*FileLock, error) {
	l, err := TryLock(path)
	if !errors.Is(err, ErrLocked) {
		return l, err
	}
	waiting()
	t := time.NewTicker(lockPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
		l, err := TryLock(path)
		if !errors.Is(err, ErrLocked) {
			return l, err
		}
	}
}

// Unlock releases the lock (closing the descriptor releases it).
func (l *FileLock) Unlock() error { return l.f.Close() }
