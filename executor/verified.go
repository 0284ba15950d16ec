package executor

import (
	"sync"

	"github.com/ferry-ml/ferry/snapshot"
)

// maxVerified bounds verifiedSet: only the latest manifests serve as bases.
const maxVerified = 256

// verifiedSet remembers the manifests stored after all their blobs were
// found present, and counts the blobs the store removed (as corrupt) since
// it opened. A manifest is intact while no blob was removed after it was
// checked. The zero value is ready.
type verifiedSet struct {
	mu       sync.Mutex
	removals uint64
	at       map[snapshot.ID]uint64 // manifest -> removals when checked
}

// generation returns the count of removals so far; take it before a check.
func (v *verifiedSet) generation() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.removals
}

// blobRemoved records that the store removed a blob.
func (v *verifiedSet) blobRemoved() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.removals++
}

// add records that id's blobs were all present as of generation gen.
func (v *verifiedSet) add(id snapshot.ID, gen uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.at == nil || len(v.at) >= maxVerified {
		v.at = make(map[snapshot.ID]uint64)
	}
	v.at[id] = gen
}

// intact reports whether id was verified and no blob was removed since.
func (v *verifiedSet) intact(id snapshot.ID) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	gen, ok := v.at[id]
	return ok && gen == v.removals
}
