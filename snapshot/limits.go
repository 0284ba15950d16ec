package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Limits on a snapshot, so that a receiver (the executor, a rerun) can
// refuse an oversized manifest before it allocates for it. A manifest
// entry costs the executor about 300 bytes of memory while it checks and
// stores the manifest: 500,000 entries took its peak RSS from 13 to 158 MB
// (BENCHMARKS.md, "Bounds").
const (
	// MaxEntries bounds the files and symlinks of one snapshot.
	MaxEntries = 500_000
	// MaxManifestBytes bounds a manifest's (or a delta's) encoding.
	MaxManifestBytes = 128 << 20
)

// ErrTooManyEntries is returned (wrapped, in a *TooManyEntriesError) for
// a snapshot or manifest of more than MaxEntries entries.
var ErrTooManyEntries = errors.New("too many files in snapshot")

// TooManyEntriesError says how many entries a snapshot had.
type TooManyEntriesError struct {
	Count int64
}

func (e *TooManyEntriesError) Error() string {
	return fmt.Sprintf("%s: %d files and symlinks, the limit is %d", ErrTooManyEntries, e.Count, MaxEntries)
}

func (e *TooManyEntriesError) Unwrap() error { return ErrTooManyEntries }

// checkCount refuses more than MaxEntries entries.
func checkCount(n int64) error {
	if n > MaxEntries {
		return &TooManyEntriesError{Count: n}
	}
	return nil
}

// ManifestHeaderLen is how many bytes CheckManifestHeader reads.
const ManifestHeaderLen = headerLen

// CheckManifestHeader checks the first ManifestHeaderLen bytes of a
// manifest's encoding (magic, version, entry count) so that a receiver can
// refuse one over MaxEntries before reading the rest.
func CheckManifestHeader(hdr []byte) error {
	if len(hdr) < headerLen || string(hdr[:len(manifestMagic)]) != manifestMagic {
		return errors.New("not a ferry manifest (bad magic)")
	}
	if v := binary.BigEndian.Uint32(hdr[8:12]); v != manifestVersion {
		return fmt.Errorf("unsupported manifest version %d (want %d)", v, manifestVersion)
	}
	return checkCount(int64(binary.BigEndian.Uint32(hdr[12:16])))
}
