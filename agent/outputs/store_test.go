package outputs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func openStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// entries lists every file under dir, relative, "/"-separated.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestPutHas(t *testing.T) {
	s, dir := openStore(t)
	id := hashOf("weights")
	if s.Has(id) {
		t.Fatal("Has before Put = true")
	}
	if err := s.Put(id, strings.NewReader("weights")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if !s.Has(id) {
		t.Fatal("Has after Put = false")
	}
	got, err := os.ReadFile(filepath.Join(dir, id[:2], id))
	if err != nil || string(got) != "weights" {
		t.Fatalf("blob file = %q, %v; want the content at blobs/%s/<id>", got, err, id[:2])
	}
	// A second Put of a present blob does not read r at all.
	if err := s.Put(id, iotest.ErrReader(errors.New("must not be read"))); err != nil {
		t.Fatalf("Put of a present blob: %v", err)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("store holds %v, want exactly one blob", names)
	}
}

func TestPutCorrupt(t *testing.T) {
	s, dir := openStore(t)
	id := hashOf("the real content")
	err := s.Put(id, strings.NewReader("a truncated or tampered download"))
	var corrupt *CorruptError
	if !errors.As(err, &corrupt) || corrupt.ID != id || corrupt.Actual != hashOf("a truncated or tampered download") {
		t.Fatalf("Put of wrong content = %v, want *CorruptError for %s", err, id)
	}
	if !strings.Contains(err.Error(), id[:12]) {
		t.Errorf("error %q does not name the blob", err)
	}
	if s.Has(id) {
		t.Fatal("corrupt content was stored")
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Fatalf("store holds %v after a rejected Put, want nothing (no temp files)", names)
	}
}

func TestPutReadError(t *testing.T) {
	s, dir := openStore(t)
	id := hashOf("x")
	r := io.MultiReader(strings.NewReader("x"), iotest.ErrReader(errors.New("connection reset")))
	if err := s.Put(id, r); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("Put with a failing reader = %v, want the read error", err)
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Fatalf("store holds %v after a failed Put", names)
	}
}

func TestPutInvalidID(t *testing.T) {
	s, _ := openStore(t)
	for _, id := range []string{"", "abc", strings.Repeat("A", 64), "../" + strings.Repeat("a", 61)} {
		if err := s.Put(id, strings.NewReader("")); err == nil {
			t.Errorf("Put(%q) = nil, want an invalid id error", id)
		}
		if s.Has(id) {
			t.Errorf("Has(%q) = true", id)
		}
	}
}

func TestPutConcurrent(t *testing.T) {
	s, _ := openStore(t)
	id := hashOf(strings.Repeat("checkpoint", 10000))
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = s.Put(id, strings.NewReader(strings.Repeat("checkpoint", 10000))) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent Put: %v", err)
	}
	f, err := s.OpenBlob(id)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	if hashOf(string(b)) != id {
		t.Fatal("blob content does not match its id after concurrent Puts")
	}
}

func TestOpenBlobMissing(t *testing.T) {
	s, _ := openStore(t)
	if _, err := s.OpenBlob(hashOf("nope")); !errors.Is(err, ErrMissing) {
		t.Fatalf("OpenBlob of a missing blob = %v, want ErrMissing", err)
	}
}
