package snapshot

import (
	"crypto/sha256"
	"strings"
	"testing"
)

func TestBlobIDRoundTrip(t *testing.T) {
	id := BlobID(sha256.Sum256([]byte("hello\n")))
	const want = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	if got := id.String(); got != want {
		t.Fatalf("String() = %s, want %s", got, want)
	}
	if got := id.Short(); got != want[:8] {
		t.Fatalf("Short() = %s, want %s", got, want[:8])
	}
	back, err := ParseBlobID(strings.ToUpper(want))
	if err != nil || back != id {
		t.Fatalf("ParseBlobID = %v, %v; want %v", back, err, id)
	}
	sid, err := ParseID(want)
	if err != nil || sid.String() != want || sid.Short() != want[:8] {
		t.Fatalf("ParseID = %v, %v", sid, err)
	}
}

func TestParseIDRejects(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"short", "abcd"},
		{"long", strings.Repeat("a", 65)},
		{"not hex", strings.Repeat("g", 64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseBlobID(tt.in); err == nil {
				t.Errorf("ParseBlobID(%q) succeeded", tt.in)
			}
			if _, err := ParseID(tt.in); err == nil {
				t.Errorf("ParseID(%q) succeeded", tt.in)
			}
		})
	}
}
