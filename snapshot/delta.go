package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Delta turns one manifest into another: the paths to remove and the
// entries to add or replace. A sync sends a Delta against the last snapshot
// the target holds instead of the whole manifest, so that changing one file
// in a 10,000-file tree sends a few hundred bytes of manifest, not 700 KB.
type Delta struct {
	Base     ID
	Removed  []string // sorted
	Upserted []Entry  // sorted by Path
}

// Delta encoding, version 1, big-endian:
//
//	magic    8 bytes  "FERRYDLT"
//	version  uint32   1
//	base     32 bytes
//	removed  uint32 count, then count times: pathLen uint16, path
//	upserted uint32 count, then count entries encoded as in a manifest
const (
	deltaMagic   = "FERRYDLT"
	deltaVersion = 1
)

// NewDelta returns the delta from base to m.
func NewDelta(base, m *Manifest) Delta { return DeltaOf(base.ID(), Diff(base, m)) }

// DeltaOf returns the delta of the changes ch (Diff) from the snapshot
// whose id is base.
func DeltaOf(base ID, ch Changes) Delta {
	d := Delta{Base: base}
	for _, e := range ch.Removed {
		d.Removed = append(d.Removed, e.Path)
	}
	d.Upserted = append(append(d.Upserted, ch.Added...), ch.Changed...)
	slices.SortFunc(d.Upserted, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return d
}

// MarshalBinary encodes d.
func (d Delta) MarshalBinary() ([]byte, error) {
	buf := append([]byte(deltaMagic), 0, 0, 0, deltaVersion)
	buf = append(buf, d.Base[:]...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(d.Removed)))
	for _, p := range d.Removed {
		if err := CheckPath(p); err != nil {
			return nil, err
		}
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(p)))
		buf = append(buf, p...)
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(d.Upserted)))
	for i := range d.Upserted {
		if err := checkEntry(&d.Upserted[i]); err != nil {
			return nil, err
		}
		buf = appendEntry(buf, &d.Upserted[i])
	}
	return buf, nil
}

// ParseDelta decodes a delta.
func ParseDelta(data []byte) (Delta, error) {
	d := newDecoder(data, "")
	if magic := d.take(len(deltaMagic)); d.err != nil || string(magic) != deltaMagic {
		return Delta{}, errors.New("not a ferry manifest delta (bad magic)")
	}
	if v := d.u32(); d.err == nil && v != deltaVersion {
		return Delta{}, fmt.Errorf("unsupported delta version %d", v)
	}
	var out Delta
	copy(out.Base[:], d.take(len(out.Base)))
	n := d.u32()
	if err := checkCount(int64(n)); err != nil {
		return Delta{}, err
	}
	if d.err == nil && uint64(n) > uint64(len(d.data)/2) {
		return Delta{}, fmt.Errorf("removed count %d exceeds the data", n)
	}
	for i := uint32(0); i < n && d.err == nil; i++ {
		out.Removed = append(out.Removed, d.str(int(d.u16())))
	}
	n = d.u32()
	if err := checkCount(int64(n)); err != nil {
		return Delta{}, err
	}
	if d.err == nil && uint64(n) > uint64(len(d.data)/minEntryLen) {
		return Delta{}, fmt.Errorf("entry count %d exceeds the data", n)
	}
	out.Upserted = make([]Entry, 0, n)
	for i := uint32(0); i < n && d.err == nil; i++ {
		var e Entry
		if err := d.entry(&e); err != nil {
			return Delta{}, fmt.Errorf("delta entry %d: %w", i, err)
		}
		out.Upserted = append(out.Upserted, e)
	}
	if d.err != nil {
		return Delta{}, fmt.Errorf("decode delta: %w", d.err)
	}
	if len(d.data) != 0 {
		return Delta{}, fmt.Errorf("decode delta: %d trailing bytes", len(d.data))
	}
	return out, nil
}

// Apply returns base with d applied, validated. It fails if d was made
// against another base.
func (d Delta) Apply(base *Manifest) (*Manifest, error) {
	m, _, err := d.ApplyEncoded(base, base.ID())
	return m, err
}

// ApplyEncoded is Apply for a base whose id the caller already knows (a
// stored snapshot, checked when it was read): it does not encode base again
// to check d.Base, and it also returns the result's canonical encoding, so
// that the result is validated and encoded once.
func (d Delta) ApplyEncoded(base *Manifest, baseID ID) (*Manifest, []byte, error) {
	if baseID != d.Base {
		return nil, nil, fmt.Errorf("apply delta: made against snapshot %s, not %s", d.Base.Short(), baseID.Short())
	}
	drop := make(map[string]bool, len(d.Removed)+len(d.Upserted))
	for _, p := range d.Removed {
		drop[p] = true
	}
	for _, e := range d.Upserted {
		drop[e.Path] = true
	}
	out := &Manifest{Entries: make([]Entry, 0, len(base.Entries)+len(d.Upserted))}
	for _, e := range base.Entries {
		if !drop[e.Path] {
			out.Entries = append(out.Entries, e)
		}
	}
	out.Entries = append(out.Entries, d.Upserted...)
	slices.SortFunc(out.Entries, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	if err := out.Validate(); err != nil {
		return nil, nil, fmt.Errorf("apply delta: %w", err)
	}
	return out, out.appendEncoding(nil), nil
}
