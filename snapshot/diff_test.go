package snapshot

import (
	"io/fs"
	"slices"
	"testing"
)

func TestDiff(t *testing.T) {
	a := mfFile("a", "1")
	b := mfFile("b", "2")
	b2 := mfFile("b", "2*")
	bx := b
	bx.Mode = 0o755
	c := mfFile("c", "3")
	ln := mfLink("d", "x")
	ln2 := mfLink("d", "y")
	tests := []struct {
		name                    string
		old, new                *Manifest
		added, changed, removed []string
	}{
		{"both empty", nil, nil, nil, nil, nil},
		{"all added", nil, &Manifest{Entries: []Entry{a, b}}, []string{"a", "b"}, nil, nil},
		{"all removed", &Manifest{Entries: []Entry{a, b}}, &Manifest{}, nil, nil, []string{"a", "b"}},
		{"same", &Manifest{Entries: []Entry{a, b}}, &Manifest{Entries: []Entry{a, b}}, nil, nil, nil},
		{"content", &Manifest{Entries: []Entry{a, b, c}}, &Manifest{Entries: []Entry{a, b2, c}}, nil, []string{"b"}, nil},
		{"mode", &Manifest{Entries: []Entry{b}}, &Manifest{Entries: []Entry{bx}}, nil, []string{"b"}, nil},
		{"link", &Manifest{Entries: []Entry{ln}}, &Manifest{Entries: []Entry{ln2}}, nil, []string{"d"}, nil},
		{"mixed", &Manifest{Entries: []Entry{a, c}}, &Manifest{Entries: []Entry{b, c}}, []string{"b"}, nil, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Diff(tt.old, tt.new)
			check := func(what string, got []Entry, want []string) {
				t.Helper()
				var paths []string
				for _, e := range got {
					paths = append(paths, e.Path)
				}
				if !slices.Equal(paths, want) {
					t.Errorf("%s = %q, want %q", what, paths, want)
				}
			}
			check("Added", c.Added, tt.added)
			check("Changed", c.Changed, tt.changed)
			check("Removed", c.Removed, tt.removed)
			if c.Empty() != (len(tt.added)+len(tt.changed)+len(tt.removed) == 0) {
				t.Errorf("Empty() = %v", c.Empty())
			}
		})
	}
}

func TestDiffChangedCarriesNewEntry(t *testing.T) {
	c := Diff(&Manifest{Entries: []Entry{mfFile("x", "old")}}, &Manifest{Entries: []Entry{mfFile("x", "new!")}})
	if len(c.Changed) != 1 || c.Changed[0].Size != 4 || c.Changed[0].Mode != fs.FileMode(0o644) {
		t.Fatalf("Changed = %+v, want the new entry", c.Changed)
	}
}
