package api

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
)

func buildPack(t *testing.T, blobs ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewPackWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blobs {
		if err := w.Add(sha256.Sum256(b), bytes.NewReader(b), int64(len(b))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readAll returns the bodies read, the ids whose bodies mismatched, and the
// terminal error (nil when the trailer verified).
func readAll(pack []byte) (bodies [][]byte, bad []PackRecord, err error) {
	r, err := NewPackReader(bytes.NewReader(pack))
	if err != nil {
		return nil, nil, err
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return bodies, bad, nil
		}
		if err != nil {
			return bodies, bad, err
		}
		body, err := io.ReadAll(r)
		switch {
		case errors.Is(err, ErrBlobMismatch):
			bad = append(bad, rec)
		case err != nil:
			return bodies, bad, err
		default:
			bodies = append(bodies, body)
		}
	}
}

func TestPackRoundTrip(t *testing.T) {
	blobs := [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte("x"), 1<<20+3)}
	bodies, bad, err := readAll(buildPack(t, blobs...))
	if err != nil || len(bad) != 0 {
		t.Fatalf("err=%v bad=%v", err, bad)
	}
	if len(bodies) != len(blobs) {
		t.Fatalf("got %d records, want %d", len(bodies), len(blobs))
	}
	for i := range blobs {
		if !bytes.Equal(bodies[i], blobs[i]) {
			t.Errorf("record %d differs", i)
		}
	}
}

func TestPackSkipUnreadBodies(t *testing.T) {
	pack := buildPack(t, []byte("aaaa"), []byte("bbbb"), []byte("cccc"))
	r, err := NewPackReader(bytes.NewReader(pack))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("got %d records, want 3", n)
	}
}

func TestPackDamage(t *testing.T) {
	good := buildPack(t, []byte("first blob"), []byte("second blob"))
	bodyAt := bytes.Index(good, []byte("second"))
	tests := []struct {
		name     string
		mutate   func([]byte) []byte
		corrupt  bool // whole pack rejected
		mismatch int  // records reported as mismatching
	}{
		{"intact", func(b []byte) []byte { return b }, false, 0},
		{"truncated in trailer", func(b []byte) []byte { return b[:len(b)-5] }, true, 0},
		{"truncated in body", func(b []byte) []byte { return b[:bodyAt+3] }, true, 0},
		{"truncated before trailer", func(b []byte) []byte { return b[:len(b)-72] }, true, 0},
		{"empty", func(b []byte) []byte { return nil }, true, 0},
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }, true, 0},
		{"corrupted body byte", func(b []byte) []byte { b[bodyAt] ^= 1; return b }, false, 1},
		{"wrong hash", func(b []byte) []byte { b[len(PackMagic)] ^= 0x80; return b }, true, 1},
		{"trailing garbage", func(b []byte) []byte { return append(b, 0) }, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pack := tt.mutate(bytes.Clone(good))
			_, bad, err := readAll(pack)
			if got := errors.Is(err, ErrPackCorrupt); got != tt.corrupt {
				t.Errorf("corrupt = %v (err %v), want %v", got, err, tt.corrupt)
			}
			if len(bad) != tt.mismatch {
				t.Errorf("mismatched records = %d, want %d", len(bad), tt.mismatch)
			}
		})
	}
}

func TestPackWriterShortReader(t *testing.T) {
	w, err := NewPackWriter(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add([32]byte{1}, bytes.NewReader([]byte("abc")), 10); err == nil {
		t.Fatal("Add with a short reader succeeded")
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close after a failed Add succeeded")
	}
}
