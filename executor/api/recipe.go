package api

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Chunked transfer of large files (protocol 3, see plan.go).
const (
	// ChunkedMinSize is the smallest file sent as chunks and a recipe.
	ChunkedMinSize = 1 << 20
	// MaxPlanChunkBytes bounds the chunk lists of one plan answer.
	MaxPlanChunkBytes = 64 << 20
	// MaxRecipeSize bounds an encoded recipe (a few bytes per op).
	MaxRecipeSize = 64 << 20
	// RecipeMagic starts every recipe.
	RecipeMagic = "FERRYRC1"
)

// ErrBadRecipe is wrapped by every error decoding a recipe or chunk list.
var ErrBadRecipe = errors.New("bad recipe")

// ChunkRef names one chunk: its SHA-256 and size.
type ChunkRef struct {
	ID   [32]byte
	Size int64
}

// ChunkList is the chunks of one file, in order. Encoded, it is each
// chunk's id followed by its size as a uvarint.
type ChunkList []ChunkRef

// MarshalBinary encodes the list.
func (l ChunkList) MarshalBinary() ([]byte, error) {
	out := make([]byte, 0, len(l)*35)
	for _, c := range l {
		out = append(out, c.ID[:]...)
		out = binary.AppendUvarint(out, uint64(c.Size))
	}
	return out, nil
}

// ParseChunkList decodes an encoded ChunkList.
func ParseChunkList(b []byte) (ChunkList, error) {
	r := bytes.NewReader(b)
	var l ChunkList
	for r.Len() > 0 {
		var c ChunkRef
		if _, err := io.ReadFull(r, c.ID[:]); err != nil {
			return nil, fmt.Errorf("%w: chunk list: truncated id", ErrBadRecipe)
		}
		n, err := binary.ReadUvarint(r)
		if err != nil || n > MaxPackRecordSize {
			return nil, fmt.Errorf("%w: chunk list: bad size", ErrBadRecipe)
		}
		c.Size = int64(n)
		l = append(l, c)
	}
	return l, nil
}

// RecipeOp is one step of a recipe: Size bytes copied from the base blob
// at Offset, or, when Chunk is set, the stored blob Chunk (Size bytes).
type RecipeOp struct {
	Chunk  *[32]byte
	Offset int64
	Size   int64
}

// Recipe says how to build file blob File (Size bytes) from blob Base and
// chunk blobs. The executor checks the result against File.
//
//	"FERRYRC1"  file [32]byte  size uvarint  base [32]byte  count uvarint
//	op*:  0x01 offset uvarint size uvarint   (copy from base)
//	      0x02 id [32]byte size uvarint      (a chunk blob)
type Recipe struct {
	File [32]byte
	Size int64
	Base [32]byte
	Ops  []RecipeOp
}

const (
	opCopy  = 1
	opChunk = 2
)

// MarshalBinary encodes the recipe.
func (r *Recipe) MarshalBinary() ([]byte, error) {
	out := append([]byte(RecipeMagic), r.File[:]...)
	out = binary.AppendUvarint(out, uint64(r.Size))
	out = append(out, r.Base[:]...)
	out = binary.AppendUvarint(out, uint64(len(r.Ops)))
	for _, op := range r.Ops {
		if op.Chunk != nil {
			out = append(append(out, opChunk), op.Chunk[:]...)
		} else {
			out = binary.AppendUvarint(append(out, opCopy), uint64(op.Offset))
		}
		out = binary.AppendUvarint(out, uint64(op.Size))
	}
	if len(out) > MaxRecipeSize {
		return nil, fmt.Errorf("%w: %d bytes encoded", ErrBadRecipe, len(out))
	}
	return out, nil
}

// ReadRecipe decodes a recipe and checks that its ops add up to its size.
func ReadRecipe(rd io.Reader) (*Recipe, error) {
	br := bufio.NewReader(io.LimitReader(rd, MaxRecipeSize))
	magic := make([]byte, len(RecipeMagic))
	var r Recipe
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != RecipeMagic {
		return nil, fmt.Errorf("%w: no magic", ErrBadRecipe)
	}
	size, err := readFields(br, r.File[:], r.Base[:])
	if err != nil {
		return nil, err
	}
	r.Size = size
	count, err := binary.ReadUvarint(br)
	if err != nil || count > MaxRecipeSize/2 {
		return nil, fmt.Errorf("%w: bad op count", ErrBadRecipe)
	}
	var total int64
	for range count {
		op, err := readOp(br)
		if err != nil {
			return nil, err
		}
		total += op.Size
		r.Ops = append(r.Ops, op)
	}
	if total != r.Size {
		return nil, fmt.Errorf("%w: ops make %d bytes, file has %d", ErrBadRecipe, total, r.Size)
	}
	return &r, nil
}

// readFields reads file id, size and base id.
func readFields(br *bufio.Reader, file, base []byte) (int64, error) {
	if _, err := io.ReadFull(br, file); err != nil {
		return 0, fmt.Errorf("%w: truncated", ErrBadRecipe)
	}
	size, err := binary.ReadUvarint(br)
	if err != nil || size > MaxPackRecordSize {
		return 0, fmt.Errorf("%w: bad size", ErrBadRecipe)
	}
	if _, err := io.ReadFull(br, base); err != nil {
		return 0, fmt.Errorf("%w: truncated", ErrBadRecipe)
	}
	return int64(size), nil
}

func readOp(br *bufio.Reader) (RecipeOp, error) {
	var op RecipeOp
	kind, err := br.ReadByte()
	if err != nil {
		return op, fmt.Errorf("%w: truncated", ErrBadRecipe)
	}
	switch kind {
	case opCopy:
		off, err := binary.ReadUvarint(br)
		if err != nil || off > MaxPackRecordSize {
			return op, fmt.Errorf("%w: bad offset", ErrBadRecipe)
		}
		op.Offset = int64(off)
	case opChunk:
		op.Chunk = new([32]byte)
		if _, err := io.ReadFull(br, op.Chunk[:]); err != nil {
			return op, fmt.Errorf("%w: truncated", ErrBadRecipe)
		}
	default:
		return op, fmt.Errorf("%w: unknown op %d", ErrBadRecipe, kind)
	}
	size, err := binary.ReadUvarint(br)
	if err != nil || size == 0 || size > MaxPackRecordSize {
		return op, fmt.Errorf("%w: bad op size", ErrBadRecipe)
	}
	op.Size = int64(size)
	return op, nil
}
