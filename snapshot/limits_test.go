package snapshot

import (
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
)

// header is a manifest header claiming count entries.
func header(count uint32) []byte {
	h := []byte(manifestMagic)
	h = binary.BigEndian.AppendUint32(h, manifestVersion)
	return binary.BigEndian.AppendUint32(h, count)
}

// TestManifestOverLimitRefusedFromItsHeader: a manifest that claims more
// than MaxEntries entries is refused from its first bytes, by the header
// check and by the decoder, before anything is allocated for its entries;
// one at the limit passes the header check.
func TestManifestOverLimitRefusedFromItsHeader(t *testing.T) {
	var tm *TooManyEntriesError
	if err := CheckManifestHeader(header(2_000_000)); !errors.As(err, &tm) || tm.Count != 2_000_000 {
		t.Fatalf("CheckManifestHeader(2M) = %v, want a TooManyEntriesError", err)
	}
	if err := CheckManifestHeader(header(MaxEntries)); err != nil {
		t.Fatalf("CheckManifestHeader(MaxEntries) = %v", err)
	}
	if err := CheckManifestHeader([]byte("FERRYMNX0000000000000000")); err == nil {
		t.Error("CheckManifestHeader accepted a bad magic")
	}
	// The body is long enough that only the limit refuses it.
	data := append(header(MaxEntries+1), make([]byte, (MaxEntries+1)*minEntryLen)...)
	// Bytes, not a count of allocations: the runtime (the race detector, a
	// GC) may add a few small ones; entries for MaxEntries+1 would be many MB.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, _, err := ParseManifest(data); !errors.Is(err, ErrTooManyEntries) {
		t.Fatalf("ParseManifest over the limit = %v, want ErrTooManyEntries", err)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Errorf("refusing an oversized manifest allocated %d bytes, want under 64 KiB", n)
	}
}

// TestValidateRefusesOverLimit: a manifest of more than MaxEntries entries
// cannot be encoded, so an agent refuses it before any upload.
func TestValidateRefusesOverLimit(t *testing.T) {
	m := Manifest{Entries: make([]Entry, MaxEntries+1)}
	if _, err := m.MarshalBinary(); !errors.Is(err, ErrTooManyEntries) {
		t.Fatalf("MarshalBinary over the limit = %v, want ErrTooManyEntries", err)
	}
}
