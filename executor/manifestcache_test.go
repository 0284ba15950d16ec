package executor

import (
	"os"
	"testing"

	"github.com/ferry-ml/ferry/snapshot"
)

// A stored manifest is read from memory while its file is unchanged; a
// file replaced behind the daemon's back is read and checked again.
func TestManifestCache(t *testing.T) {
	s := newTestStore(t, t.TempDir())
	id := storeTree(t, s, sampleTree)
	m1, err := s.Manifest(id)
	if err != nil {
		t.Fatal(err)
	}
	if m2, err := s.Manifest(id); err != nil || m2 != m1 {
		t.Fatalf("second read: %v, same manifest %v; want it from memory", err, m2 == m1)
	}
	sid, _ := snapshot.ParseID(id)
	path := s.snapshotPath(sid)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 1
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Manifest(id); err == nil {
		t.Fatal("a damaged manifest file was served from memory")
	}
}

// The cache holds at most manifestCacheItems manifests, dropping the least
// recently used.
func TestManifestCacheBounds(t *testing.T) {
	var c manifestCache
	m := &snapshot.Manifest{Entries: []snapshot.Entry{{Path: "a"}}}
	for i := range manifestCacheItems + 1 {
		c.put(snapshot.ID{byte(i)}, blobStat{size: 1}, m)
		if i == 1 {
			c.get(snapshot.ID{0}, blobStat{size: 1}) // 0 is now more recent than 1
		}
	}
	if c.get(snapshot.ID{0}, blobStat{size: 1}) == nil || c.get(snapshot.ID{1}, blobStat{size: 1}) != nil {
		t.Errorf("kept %d items; want the least recently used (1) dropped, 0 kept", len(c.items))
	}
	if c.get(snapshot.ID{2}, blobStat{size: 2}) != nil {
		t.Error("served a manifest whose file changed")
	}
}
