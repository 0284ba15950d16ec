package snapshot

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestStatCacheRoundTrip(t *testing.T) {
	c := &statCache{watermark: time.Now().UnixNano(), entries: []cacheEntry{
		{path: "a", key: fileKey{Size: 1, Mtime: 2, Ctime: 3, Ino: 4, Mode: 0o644}, blob: sum("a")},
		{path: "d/\xff", key: fileKey{Size: 1 << 40, Mtime: -5, Ctime: 1 << 62, Ino: 1<<64 - 1, Mode: 0o755}, blob: sum("b")},
	}}
	path := filepath.Join(t.TempDir(), "x", "cache")
	if err := c.save(path); err != nil {
		t.Fatal(err)
	}
	back, err := loadStatCache(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.watermark != c.watermark || !slices.Equal(back.entries, c.entries) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, c)
	}
}

func TestStatCacheDecodeRejects(t *testing.T) {
	good := (&statCache{watermark: 1, entries: []cacheEntry{{path: "a", blob: sum("a")}}}).encode()
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"magic", append([]byte("FERRYSC0"), good[8:]...)},
		{"truncated", good[:len(good)-1]},
		{"bit flip", flip(good, 20)},
		{"trailing", append(good[:len(good)-4:len(good)-4], 0, 0, 0, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeStatCache(tt.data); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := decodeStatCache(good); err != nil {
		t.Fatalf("good cache rejected: %v", err)
	}
}

func flip(b []byte, i int) []byte {
	b = slices.Clone(b)
	b[i] ^= 1
	return b
}

func TestLoadStatCacheMissingIsEmpty(t *testing.T) {
	c, err := loadStatCache(filepath.Join(t.TempDir(), "none"))
	if err != nil || len(c.entries) != 0 {
		t.Fatalf("missing cache = %+v, %v; want empty, no error", c, err)
	}
}
