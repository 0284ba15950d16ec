package docker

import (
	"context"
	"sync"
)

// keyLocks is a set of per-key locks whose waits honour a context. An entry
// lives while anyone holds or waits for it.
type keyLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	sem  chan struct{} // 1-buffered: full while held
	refs int
}

func newKeyLocks() *keyLocks {
	return &keyLocks{locks: make(map[string]*keyLock)}
}

// lock waits for key's lock and returns its unlock function, or ctx's error.
func (k *keyLocks) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	l := k.locks[key]
	if l == nil {
		l = &keyLock{sem: make(chan struct{}, 1)}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	select {
	case l.sem <- struct{}{}:
		return func() { <-l.sem; k.release(key, l) }, nil
	case <-ctx.Done():
		k.release(key, l)
		return nil, ctx.Err()
	}
}

// release drops one reference to l and forgets it when unused.
func (k *keyLocks) release(key string, l *keyLock) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l.refs--
	if l.refs == 0 {
		delete(k.locks, key)
	}
}
