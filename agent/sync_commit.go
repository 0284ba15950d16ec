package agent

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/snapshot"
)

// commit is the manifest a sync stores: a delta against base when the
// target has base. It travels in the sync's only pack when there is one
// (see api.PackUpload), else in its own PUT. A nil *commit adds nothing.
type commit struct {
	snapshot string
	base     string // "" for a full manifest
	body     []byte
	id       [32]byte // SHA-256 of body: its record id in a pack
	done     bool     // the target stored it at the end of the pack
}

// newCommit encodes m, whose id is id: a delta against base when the
// target has it (haveBase).
func newCommit(id snapshot.ID, m *snapshot.Manifest, base *syncBase, haveBase bool) (*commit, error) {
	cm := &commit{snapshot: id.String()}
	var err error
	if base != nil && haveBase {
		cm.body, err = snapshot.DeltaOf(base.id, base.ch).MarshalBinary()
		cm.base = base.id.String()
	} else {
		cm.body, err = m.MarshalBinary()
	}
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	cm.id = sha256.Sum256(cm.body)
	return cm, nil
}

// add appends the manifest to pack pw, as its last record.
func (cm *commit) add(pw *api.PackWriter) error {
	if cm == nil {
		return nil
	}
	return pw.Add(cm.id, bytes.NewReader(cm.body), int64(len(cm.body)))
}

// options names the snapshot to store in the pack upload's parameters.
func (cm *commit) options(o api.PackUpload) api.PackUpload {
	if cm != nil {
		o.Snapshot, o.Base, o.Manifest = cm.snapshot, cm.base, snapshot.BlobID(cm.id).String()
	}
	return o
}

// result records whether the target stored the snapshot.
func (cm *commit) result(resp api.IngestResponse) {
	if cm != nil && resp.StoredSnapshot != nil && resp.StoredSnapshot.ID == cm.snapshot {
		cm.done = true
	}
}
