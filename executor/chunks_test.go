package executor

import (
	"testing"
)

// TestChunkListBudget: a blob larger than the budget is not chunked; once
// its list is cached it costs nothing, whatever the budget; an empty or
// absent blob gets no list and no panic.
func TestChunkListBudget(t *testing.T) {
	s := newTestStore(t, t.TempDir())
	big := randomFile(5, 2<<20)
	streamPack(t, s, []record{rec(big), rec([]byte{})})
	if _, n, err := s.chunkList(hexID(big), 1<<20); err == nil || n != 0 {
		t.Fatalf("chunked a 2 MiB blob on a 1 MiB budget (%d bytes, %v)", n, err)
	}
	if _, n, err := s.chunkList(hexID(big), 4<<20); err != nil || n != int64(len(big)) {
		t.Fatalf("chunk within budget: %d bytes, %v", n, err)
	}
	if l, n, err := s.chunkList(hexID(big), 0); err != nil || n != 0 || len(l) == 0 {
		t.Fatalf("cached list on a zero budget: %d bytes of list, %d chunked, %v", len(l), n, err)
	}
	if _, _, err := s.chunkList(hexID([]byte{}), 1<<20); err != nil {
		t.Fatalf("empty blob: %v", err)
	}
	if _, _, err := s.chunkList(hexID([]byte("absent")), 1<<20); err == nil {
		t.Fatal("chunk list of an absent blob")
	}
}
