package cdc

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/iotest"
)

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func chunksOf(t *testing.T, data []byte, r io.Reader) []Chunk {
	t.Helper()
	h := sha256.New()
	cs, err := All(r, h)
	if err != nil {
		t.Fatal(err)
	}
	if [32]byte(h.Sum(nil)) != sha256.Sum256(data) {
		t.Fatal("sink did not see the stream's bytes in order")
	}
	var off int64
	for _, c := range cs {
		if c.Offset != off {
			t.Fatalf("chunk at %d, want %d", c.Offset, off)
		}
		if c.ID != sha256.Sum256(data[off:off+int64(c.Size)]) {
			t.Fatalf("chunk at %d: wrong id", off)
		}
		off += int64(c.Size)
	}
	if off != int64(len(data)) {
		t.Fatalf("chunks cover %d of %d bytes", off, len(data))
	}
	return cs
}

func TestChunksDeterministicWhateverTheReads(t *testing.T) {
	data := randomBytes(1, 4<<20)
	a := chunksOf(t, data, bytes.NewReader(data))
	b := chunksOf(t, data[:1<<20], iotest.OneByteReader(bytes.NewReader(data[:1<<20])))
	c := chunksOf(t, data[:1<<20], iotest.HalfReader(bytes.NewReader(data[:1<<20])))
	if len(b) != len(c) {
		t.Fatalf("one-byte reads gave %d chunks, half reads %d", len(b), len(c))
	}
	for i := range b[:len(b)-1] {
		if a[i] != b[i] || b[i] != c[i] {
			t.Fatalf("chunk %d differs between read patterns", i)
		}
	}
}

func TestChunkSizesWithinBounds(t *testing.T) {
	data := randomBytes(2, 8<<20)
	cs := chunksOf(t, data, bytes.NewReader(data))
	for i, c := range cs {
		if c.Size > MaxSize || (c.Size < MinSize && i != len(cs)-1) {
			t.Fatalf("chunk %d has %d bytes, outside [%d, %d]", i, c.Size, MinSize, MaxSize)
		}
	}
	avg := len(data) / len(cs)
	if avg < AvgSize/2 || avg > AvgSize*2 {
		t.Fatalf("average chunk %d bytes, want about %d", avg, AvgSize)
	}
}

func TestChunksOfUniformDataAreMaxSize(t *testing.T) {
	data := make([]byte, 3*MaxSize+100)
	cs := chunksOf(t, data, bytes.NewReader(data))
	if len(cs) != 4 || cs[0].Size != MaxSize || cs[3].Size != 100 {
		t.Fatalf("zeros: got %v", cs)
	}
	if Cut(data[:MinSize]) != MinSize || Cut(data[:10]) != 10 || Cut(nil) != 0 {
		t.Fatal("short input must be one chunk")
	}
}

// An edit changes only the chunks around it: the others keep their ids,
// also after an insertion that shifts every later byte.
func TestBoundariesResistShifts(t *testing.T) {
	data := randomBytes(3, 4<<20)
	have := map[[32]byte]bool{}
	for _, c := range chunksOf(t, data, bytes.NewReader(data)) {
		have[c.ID] = true
	}
	newBytes := func(d []byte) int {
		n := 0
		for _, c := range chunksOf(t, d, bytes.NewReader(d)) {
			if !have[c.ID] {
				n += c.Size
			}
		}
		return n
	}
	r := rand.New(rand.NewPCG(7, 7))
	var sizes []int
	for k := range 40 {
		edited := append([]byte(nil), data...)
		copy(edited[r.IntN(1023)*4096:], randomBytes(uint64(k+10), 4<<10)) // 4 KiB rewritten
		sizes = append(sizes, newBytes(edited))
	}
	slices.Sort(sizes)
	if sizes[len(sizes)/2] > 32<<10 || sizes[len(sizes)-1] > 2*MaxSize {
		t.Errorf("4 KiB rewrites: new chunk bytes %v, want median <= 32 KiB, max <= %d", sizes, 2*MaxSize)
	}
	inserted := slices.Concat(data[:1<<20], []byte("seven b"), data[1<<20:])
	if n := newBytes(inserted); n > 2*MaxSize {
		t.Errorf("7-byte insertion: %d bytes in new chunks, want at most %d", n, 2*MaxSize)
	}
	t.Logf("4 KiB rewrites: new chunk bytes median %d, max %d", sizes[len(sizes)/2], sizes[len(sizes)-1])
}
