package executor

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/ferry-ml/ferry/executor/api"
)

// errRecipe is wrapped by every reason a recipe's file was not built.
var errRecipe = errors.New("cannot build file from recipe")

// Assemble builds the file of each named recipe (stored blob ids, see
// api.Recipe) from its base blob and chunk blobs, and stores it as a blob
// when, and only when, the result hashes to the file's id. Chunk blobs
// were verified as they were stored (and are re-hashed if touched since),
// the base is a trusted blob, and the whole file is checked at the end:
// nothing unverified is ever stored. It returns how many files were built
// (or already present) and the recipes that failed; those files the agent
// sends whole. The built files are pending like ingested blobs: durable
// before any manifest that names them.
func (s *Store) Assemble(ctx context.Context, recipes []string) (int, []string, error) {
	ids := make([][32]byte, len(recipes))
	for i, r := range recipes {
		id, err := parseID(r)
		if err != nil {
			return 0, nil, &RequestError{Err: err}
		}
		ids[i] = id
	}
	done, failed := 0, []string(nil)
	for i, id := range ids {
		if err := ctx.Err(); err != nil {
			return done, failed, err
		}
		if err := s.assemble(id); err != nil {
			if !errors.Is(err, errRecipe) {
				return done, failed, fmt.Errorf("assemble recipe %.8s: %w", recipes[i], err)
			}
			s.log.Warn("recipe not assembled; the agent sends the file whole", "recipe", recipes[i][:8], "error", err)
			failed = append(failed, recipes[i])
			continue
		}
		done++
	}
	return done, failed, nil
}

// assemble builds one recipe's file. Errors wrapping errRecipe mean the
// recipe cannot be used; others are the store's own (full disk, say).
func (s *Store) assemble(rid [32]byte) error {
	r, err := s.readRecipe(rid)
	if err != nil {
		return err
	}
	if ok, err := s.has(r.File); err != nil || ok {
		return err
	}
	if err := s.requireParts(r); err != nil {
		return err
	}
	base, err := os.Open(s.blobPath(r.Base))
	if err != nil {
		return fmt.Errorf("%w: open base: %v", errRecipe, err)
	}
	defer base.Close()
	f, err := os.CreateTemp(s.path(TmpDir), tmpPrefix+"a-")
	if err != nil {
		return fmt.Errorf("create temp blob: %w", err)
	}
	h := sha256.New()
	err = s.writeOps(tempWriter{f: f, h: h}, base, r.Ops)
	if err == nil && [32]byte(h.Sum(nil)) != r.File {
		err = fmt.Errorf("%w: the built file does not hash to %x", errRecipe, r.File[:4])
	}
	if err == nil {
		startWriteback(f)
		err = f.Chmod(0o444)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.commit([]pendingBlob{{id: r.File, tmp: f.Name(), size: r.Size}})
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	s.cacheBuiltList(r)
	return nil
}

func (s *Store) readRecipe(rid [32]byte) (*api.Recipe, error) {
	if ok, err := s.has(rid); err != nil || !ok {
		return nil, fmt.Errorf("%w: recipe %x not stored (%v)", errRecipe, rid[:4], err)
	}
	f, err := os.Open(s.blobPath(rid))
	if err != nil {
		return nil, fmt.Errorf("%w: open recipe: %v", errRecipe, err)
	}
	defer f.Close()
	r, err := api.ReadRecipe(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errRecipe, err)
	}
	return r, nil
}

// requireParts checks that the base and every chunk are present and
// trusted (re-hashed when touched since they were verified).
func (s *Store) requireParts(r *api.Recipe) error {
	need := map[[32]byte]bool{r.Base: true}
	for _, op := range r.Ops {
		if op.Chunk != nil {
			need[*op.Chunk] = true
		}
	}
	for id := range need {
		ok, err := s.has(id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: blob %x missing", errRecipe, id[:4])
		}
	}
	return nil
}

// copyBufSize is the buffer of writeOps's copies: few reads and writes
// for a large file, each hashed while it is written (tempWriter).
const copyBufSize = 1 << 20

// writeOps writes the recipe's bytes: ranges of base and whole chunks.
func (s *Store) writeOps(w io.Writer, base *os.File, ops []api.RecipeOp) error {
	buf := make([]byte, copyBufSize)
	for _, op := range ops {
		var err error
		if op.Chunk == nil {
			err = copyExactly(w, io.NewSectionReader(base, op.Offset, op.Size), op.Size, buf)
		} else {
			err = s.copyChunk(w, *op.Chunk, op.Size, buf)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) copyChunk(w io.Writer, id [32]byte, size int64, buf []byte) error {
	f, err := os.Open(s.blobPath(id))
	if err != nil {
		return fmt.Errorf("%w: open chunk: %v", errRecipe, err)
	}
	defer f.Close()
	if err := copyExactly(w, f, size, buf); err != nil {
		return err
	}
	if n, _ := f.Read(make([]byte, 1)); n != 0 {
		return fmt.Errorf("%w: chunk %x is longer than %d bytes", errRecipe, id[:4], size)
	}
	return nil
}

// copyExactly copies size bytes through buf; a short source means a bad
// recipe, a failed write is the store's own error.
func copyExactly(w io.Writer, r io.Reader, size int64, buf []byte) error {
	n, err := io.CopyBuffer(w, io.LimitReader(r, size), buf)
	var werr *tempWriteError
	if errors.As(err, &werr) {
		return werr.err
	}
	if err != nil || n != size {
		return fmt.Errorf("%w: read %d of %d bytes (%v)", errRecipe, n, size, err)
	}
	return nil
}

// tempWriteError marks an error of the temp file, as opposed to the source.
type tempWriteError struct{ err error }

func (e *tempWriteError) Error() string { return e.err.Error() }

// tempWriter wraps the temp file so its errors are told apart, and hashes
// what it writes: a large write is hashed on another goroutine while the
// file is written (both only read b).
type tempWriter struct {
	f *os.File
	h hash.Hash
}

// hashAsideMin is the smallest write hashed beside the file write.
const hashAsideMin = 256 << 10

func (t tempWriter) Write(b []byte) (int, error) {
	var hashed chan struct{}
	if len(b) >= hashAsideMin {
		hashed = make(chan struct{})
		go func() { t.h.Write(b); close(hashed) }()
	} else {
		t.h.Write(b)
	}
	n, err := t.f.Write(b)
	if hashed != nil {
		<-hashed
	}
	if err != nil {
		return n, &tempWriteError{fmt.Errorf("write temp blob: %w", err)}
	}
	return n, nil
}
