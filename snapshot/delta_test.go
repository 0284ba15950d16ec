package snapshot

import (
	"bytes"
	"crypto/sha256"
	"testing"
)

// A delta travels encoded and rebuilds the new manifest exactly; it is
// refused against another base; ApplyEncoded returns the canonical
// encoding of what it built.
func TestDeltaRoundTrip(t *testing.T) {
	file := func(p, content string) Entry {
		return Entry{Path: p, Mode: 0o644, Size: int64(len(content)), Blob: sum(content)}
	}
	base := &Manifest{Entries: []Entry{file("a.py", "a"), file("b/c.py", "c"), file("b/d.py", "d"), file("e.txt", "e")}}
	next := &Manifest{Entries: []Entry{file("a.py", "a2"), file("b/c.py", "c"), file("b/new.py", "n"), file("e.txt", "e")}}
	enc, err := NewDelta(base, next).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDelta(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Removed) != 1 || len(d.Upserted) != 2 {
		t.Fatalf("delta: removed %v, upserted %d entries; want b/d.py removed, 2 upserted", d.Removed, len(d.Upserted))
	}
	got, full, err := d.ApplyEncoded(base, base.ID())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := next.MarshalBinary()
	if !bytes.Equal(full, want) || got.ID() != next.ID() || ID(sha256.Sum256(full)) != next.ID() {
		t.Fatal("the applied delta is not the new manifest")
	}
	if m, err := d.Apply(base); err != nil || m.ID() != next.ID() {
		t.Fatalf("Apply: %v", err)
	}
	if _, err := d.Apply(next); err == nil {
		t.Error("delta applied to another base")
	}
	if _, _, err := d.ApplyEncoded(base, next.ID()); err == nil {
		t.Error("ApplyEncoded accepted a base id the delta was not made against")
	}
}
