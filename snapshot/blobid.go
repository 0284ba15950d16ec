package snapshot

import (
	"encoding/hex"
	"fmt"
)

// BlobID names a blob by the SHA-256 digest of its content. Its text form is
// 64 lower-case hex digits.
type BlobID [32]byte

// String returns the id as 64 lower-case hex digits.
func (id BlobID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 8 hex digits, for messages and logs.
func (id BlobID) Short() string { return hex.EncodeToString(id[:4]) }

// IsZero reports whether id is the zero value (no blob).
func (id BlobID) IsZero() bool { return id == BlobID{} }

// ParseBlobID parses 64 hex digits (either case) into a BlobID.
func ParseBlobID(s string) (BlobID, error) {
	var id BlobID
	err := parseHexID(id[:], s, "blob id")
	return id, err
}

// ID names a snapshot by the SHA-256 digest of its manifest's canonical
// encoding (see Manifest.MarshalBinary). Its text form is 64 lower-case hex
// digits.
type ID [32]byte

// String returns the id as 64 lower-case hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 8 hex digits, for messages and logs.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

// IsZero reports whether id is the zero value.
func (id ID) IsZero() bool { return id == ID{} }

// ParseID parses 64 hex digits (either case) into a snapshot ID.
func ParseID(s string) (ID, error) {
	var id ID
	err := parseHexID(id[:], s, "snapshot id")
	return id, err
}

func parseHexID(dst []byte, s, what string) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("parse %s %q: want %d hex digits, got %d", what, s, 2*len(dst), len(s))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return fmt.Errorf("parse %s %q: %w", what, s, err)
	}
	return nil
}
