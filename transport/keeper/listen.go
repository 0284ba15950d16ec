package keeper

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
)

// ErrRunning is returned by Listen when another keeper holds the socket.
var ErrRunning = errors.New("a keeper is already running")

// Listener is a keeper's socket, with the lock that makes it the only
// keeper on that socket.
type Listener struct {
	net.Listener
	lock *os.File
}

// Close closes the socket and releases the lock.
func (l *Listener) Close() error {
	err := l.Listener.Close()
	return errors.Join(err, l.lock.Close())
}

// Listen makes socket's folder (0700, owned by this user), takes its lock
// file and listens on socket (0600). It returns ErrRunning when another
// keeper holds the lock.
func Listen(socket string) (*Listener, error) {
	dir := filepath.Dir(socket)
	if err := privateDir(dir); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(socket+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open keeper lock: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrRunning
		}
		return nil, fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	// Holding the lock, a socket file left here is a dead keeper's.
	if err := os.Remove(socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		lock.Close()
		return nil, fmt.Errorf("remove stale keeper socket: %w", err)
	}
	ln, err := net.Listen("unix", socket)
	if err == nil {
		err = os.Chmod(socket, 0o600)
	}
	if err != nil {
		lock.Close()
		return nil, errors.Join(fmt.Errorf("listen on keeper socket: %w", err), closeIf2(ln))
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	return &Listener{Listener: ln, lock: lock}, nil
}

// privateDir makes dir 0700 and checks that it is this user's and that
// nobody else may enter it.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("make keeper folder: %w", err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("keeper folder: %w", err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	switch {
	case !st.IsDir():
		return fmt.Errorf("keeper folder %s is not a folder", dir)
	case ok && int(sys.Uid) != os.Getuid():
		return fmt.Errorf("keeper folder %s belongs to uid %d, not %d", dir, sys.Uid, os.Getuid())
	case st.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("keeper folder %s is open to others (mode %v): chmod 700 it", dir, st.Mode().Perm())
	}
	return nil
}

func closeIf2(ln net.Listener) error {
	if ln == nil {
		return nil
	}
	return ln.Close()
}
