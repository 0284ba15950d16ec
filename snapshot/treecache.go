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
// (Options.Tree). A later Take that is given the same token returns it
// without walking: the token's issuer (the keeper's inotify watch, see
// agent/watch.Trees) saw nothing change in the tree since before that walk.
// Given a newer token and the directories changed since the saved one, Take
// reads only those again (rescan.go).
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

// savedTree is a tree cache file read and checked, not yet decoded.
type savedTree struct {
	header treeHeader
	enc    []byte // the manifest's encoding; never written
}

// readTree reads root's tree cache; nil on any miss.
func readTree(dir, root string) *savedTree {
	data, err := os.ReadFile(treeCacheFile(dir, root))
	if err != nil {
		return nil
	}
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 {
		return nil
	}
	s := &savedTree{enc: data[nl+1:]}
	if json.Unmarshal(data[:nl], &s.header) != nil || s.header.Magic != treeMagic || s.header.Token == "" ||
		crc32.Checksum(s.enc, castagnoli) != s.header.CRC {
		return nil
	}
	return s
}

// token returns the token the tree was saved under; "" for none.
func (s *savedTree) token() string {
	if s == nil {
		return ""
	}
	return s.header.Token
}

// manifest decodes the saved manifest.
func (s *savedTree) manifest() (*Manifest, error) {
	entries, err := decodeEntriesOwned(s.enc)
	if err != nil {
		return nil, fmt.Errorf("tree cache: %w", err)
	}
	return &Manifest{Entries: entries}, nil
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
