package snapshot

import (
	"io/fs"
)

// WalkEntry is one included file or symlink found by Walk.
type WalkEntry struct {
	// Path is relative to the walk's root, "/"-separated. It is a byte
	// string: non-UTF-8 names are kept exactly.
	Path string
	// Info is the entry's lstat result (Sys() is a *syscall.Stat_t).
	Info fs.FileInfo
}

// WalkOptions tune Walk.
type WalkOptions struct {
	// Warn is called for entries skipped with a warning (FIFOs, sockets,
	// devices). May be nil. Called from the walking goroutine(s); must be
	// safe for concurrent use.
	Warn func(path, reason string)
}

// Walk lists the regular files and symlinks under root that the snapshot
// includes, sorted by Path (byte order). Directories are not listed.
//
// TODO(helper-ignore): implement (see doc.go for the rules).
func Walk(root string, opts WalkOptions) ([]WalkEntry, error) {
	panic("not implemented")
}
