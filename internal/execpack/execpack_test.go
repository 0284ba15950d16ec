package execpack

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestWriteDecode: each copy decompresses to the binary, through Decode
// and through the program the target runs (`zstd -dc`, `gzip -dc`), and a
// copy cut short is an error, never a shorter binary.
// It runs with the zstd program (the copy is then the program's level 19),
// without it, and with one whose output does not decode to the binary
// (the copy is then klauspost/compress's, as without).
func TestWriteDecode(t *testing.T) {
	junk := filepath.Join(t.TempDir(), "zstd")
	if err := os.WriteFile(junk, []byte("#!/bin/sh\necho not zstd\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, program string
		byProgram     bool
	}{
		{"zstd program", "zstd", true},
		{"no zstd program", "ferry-test-no-such-zstd", false},
		{"zstd program writing junk", junk, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := zstdProgram
			zstdProgram = tc.program
			t.Cleanup(func() { zstdProgram = old })
			testWriteDecode(t, tc.byProgram)
		})
	}
}

func testWriteDecode(t *testing.T, byProgram bool) {
	bin := filepath.Join(t.TempDir(), "ferry-executor-linux-amd64")
	data := make([]byte, 3<<20)
	rand.Read(data[:1<<20]) // a third incompressible, the rest compresses
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Write(bin); err != nil {
		t.Fatal(err)
	}
	fromProgram, err := exec.Command("zstd", "-q", "-19", "--zstd=wlog=23", "-c", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if zc, _ := os.ReadFile(Path(bin, Zstd)); bytes.Equal(zc, fromProgram) != byProgram {
		t.Errorf("zstd copy made by the zstd program: %v, want %v", !byProgram, byProgram)
	}
	for _, enc := range Encodings {
		copyData, err := os.ReadFile(Path(bin, enc))
		if err != nil {
			t.Fatal(err)
		}
		if len(copyData) >= len(data)/2 {
			t.Errorf("%s copy is %d bytes of %d", enc, len(copyData), len(data))
		}
		if got, err := decodeAll(copyData, enc); err != nil || !bytes.Equal(got, data) {
			t.Errorf("Decode(%s): %d bytes, %v", enc, len(got), err)
		}
		cmd := exec.Command(enc, "-dc")
		cmd.Stdin = bytes.NewReader(copyData)
		if got, err := cmd.Output(); err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s -dc: %d bytes, %v", enc, len(got), err)
		}
		if got, err := decodeAll(copyData[:len(copyData)-100], enc); err == nil {
			t.Errorf("Decode(%s) of a cut copy: %d bytes and no error", enc, len(got))
		}
	}
	if ents, _ := os.ReadDir(filepath.Dir(bin)); len(ents) != 1+len(Encodings) {
		t.Errorf("files beside the binary: %v", ents)
	}
}

func decodeAll(b []byte, enc string) ([]byte, error) {
	r, err := Decode(bytes.NewReader(b), enc)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
