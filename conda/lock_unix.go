//go:build unix

package conda

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// fileLock is a held flock(2) lock.
type fileLock struct{ f *os.File }

// tryLock takes the exclusive lock on path without waiting: ErrBusy when
// another holder has it.
func tryLock(path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, ErrBusy
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

// lock takes the exclusive lock on path, waiting until it is free or ctx
// ends. waiting is called once if the lock is held by someone else.
// flock(2) cannot be interrupted by a context, hence the polling.
func lock(ctx context.Context, path string, waiting func()) (*fileLock, error) {
	l, err := tryLock(path)
	if !errors.Is(err, ErrBusy) {
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
		l, err := tryLock(path)
		if !errors.Is(err, ErrBusy) {
			return l, err
		}
	}
}

// unlock releases the lock (closing the descriptor releases it).
func (l *fileLock) unlock() { l.f.Close() }
