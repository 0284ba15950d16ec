package snapshot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"

	"github.com/ferry-ml/ferry/internal/fsutil"
)

// The tree cache: the last manifest of a root, saved beside its stat cache
// with the tree token that was current when the walk that made it began
// (Options.TreeToken). A later Take that is given the same token returns
// it without walking: the token's issuer (the keeper's inotify watch, see
// agent/watch.Trees) saw nothing change in the tree since before that walk.
//
// File: one JSON header line (treeHeader), then the manifest's canonical
// encoding. Written with temp file + rename; a file that does not parse,
// or whose encoding does not match its CRC, is a miss.

// treeMagic starts the header; a new format gets a new one.
const treeMagic = "ferry-tree-cache-1"

type treeHeader struct {
	Magic string `json:"magic"`
	Token string `json:"token"`
	// CRC is the CRC-32C of the encoding, which was valid when saved: a
	// file that matches it needs no second Validate.
	CRC      uint32      `json:"crc"`
	Warnings [][2]string `json:"warnings,omitempty"` // (path, reason) the walk warned about
}

func treeCacheFile(dir, root string) string { return cacheFile(dir, root) + ".tree" }

// loadTree returns the manifest saved for root under token, with the
// walk's warnings; ok is false on any miss.
func loadTree(dir, root, token string) (m *Manifest, warnings [][2]string, ok bool) {
	data, err := os.ReadFile(treeCacheFile(dir, root))
	if err != nil {
		return nil, nil, false
	}
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 {
		return nil, nil, false
	}
	var h treeHeader
	if json.Unmarshal(data[:nl], &h) != nil || h.Magic != treeMagic || h.Token != token {
		return nil, nil, false
	}
	enc := data[nl+1:]
	if crc32.Checksum(enc, castagnoli) != h.CRC {
		return nil, nil, false
	}
	entries, err := decodeEntriesOwned(enc) // data is dropped, never written
	if err != nil {
		return nil, nil, false
	}
	return &Manifest{Entries: entries}, h.Warnings, true
}

// saveTree saves m as root's manifest under token.
func saveTree(dir, root, token string, m *Manifest, warnings [][2]string) error {
	enc, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	h, err := json.Marshal(treeHeader{Magic: treeMagic, Token: token, CRC: crc32.Checksum(enc, castagnoli), Warnings: warnings})
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(h)+1+len(enc))
	buf = append(append(append(buf, h...), '\n'), enc...)
	if err := fsutil.WriteCacheFile(treeCacheFile(dir, root), buf, 0o600); err != nil {
		return fmt.Errorf("save tree cache: %w", err)
	}
	return nil
}
