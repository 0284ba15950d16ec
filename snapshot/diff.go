package snapshot

// Changes lists how one manifest differs from another. Each list is sorted
// by Path.
type Changes struct {
	// Added holds entries of the new manifest whose path the old one lacks.
	Added []Entry
	// Changed holds entries of the new manifest whose path the old one has
	// with another blob, mode or link target.
	Changed []Entry
	// Removed holds entries of the old manifest whose path the new one lacks.
	Removed []Entry
}

// Empty reports whether there are no changes at all.
func (c Changes) Empty() bool {
	return len(c.Added) == 0 && len(c.Changed) == 0 && len(c.Removed) == 0
}

// Diff compares two manifests (either may be nil, meaning empty) by merging
// their sorted entries.
func Diff(old, new *Manifest) Changes {
	var a, b []Entry
	if old != nil {
		a = old.Entries
	}
	if new != nil {
		b = new.Entries
	}
	var c Changes
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].Path < b[j].Path:
			c.Removed = append(c.Removed, a[i])
			i++
		case a[i].Path > b[j].Path:
			c.Added = append(c.Added, b[j])
			j++
		default:
			if a[i].Blob != b[j].Blob || a[i].Mode != b[j].Mode || a[i].Link != b[j].Link {
				c.Changed = append(c.Changed, b[j])
			}
			i++
			j++
		}
	}
	c.Removed = append(c.Removed, a[i:]...)
	c.Added = append(c.Added, b[j:]...)
	return c
}
