package api

import (
	"bytes"
	"errors"
	"testing"
)

func TestRecipeRoundTrip(t *testing.T) {
	chunk := [32]byte{7}
	r := Recipe{File: [32]byte{1}, Size: 300, Base: [32]byte{2}, Ops: []RecipeOp{
		{Offset: 0, Size: 100}, {Chunk: &chunk, Size: 150}, {Offset: 1 << 33, Size: 50}}}
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadRecipe(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got.File != r.File || got.Base != r.Base || got.Size != 300 || len(got.Ops) != 3 ||
		*got.Ops[1].Chunk != chunk || got.Ops[2].Offset != 1<<33 || got.Ops[0].Chunk != nil {
		t.Fatalf("round trip: %+v", got)
	}
	for name, bad := range map[string][]byte{
		"truncated":   b[:len(b)-1],
		"no magic":    append([]byte("FERRYPK1"), b[8:]...),
		"unknown op":  bytes.Replace(b, []byte{opChunk, 7}, []byte{9, 7}, 1),
		"sizes wrong": func() []byte { r2 := r; r2.Size = 301; b, _ := r2.MarshalBinary(); return b }(),
	} {
		if _, err := ReadRecipe(bytes.NewReader(bad)); !errors.Is(err, ErrBadRecipe) {
			t.Errorf("%s: err = %v, want ErrBadRecipe", name, err)
		}
	}
}

func TestChunkListRoundTrip(t *testing.T) {
	l := ChunkList{{ID: [32]byte{1}, Size: 4096}, {ID: [32]byte{2}, Size: 65536}}
	b, _ := l.MarshalBinary()
	got, err := ParseChunkList(b)
	if err != nil || len(got) != 2 || got[1] != l[1] {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	if _, err := ParseChunkList(b[:len(b)-3]); !errors.Is(err, ErrBadRecipe) {
		t.Errorf("truncated list: err = %v", err)
	}
}
