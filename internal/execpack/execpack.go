// Package execpack makes and reads the compressed copies of the executor
// binaries that `make build` writes beside them (ferry-executor-linux-amd64.zst
// and .gz). Installing the executor on a target sends one of them as it is,
// so first contact neither spends CPU compressing 9.3 MB nor sends gzip's
// fastest level: zstd is about 3.3 MB where the target has `zstd` (3.6 MB
// where the build machine had no `zstd` program: see zstdProgram), gzip at
// its best about 3.9 MB where it has only `gzip`, against 4.5 MB
// compressed on the fly.
//
// A copy is only ever an optimisation: ferry sends one only when it
// decompresses to the very binary beside it (same SHA-256), and the
// target checks the binary it received against the sums ferry ships.
package execpack

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"

	"github.com/ferry-ml/ferry/internal/fsutil"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// The encodings a copy can have, named as the install script names them
// (and as the programs that decode them on the target are called).
const (
	Zstd = "zstd"
	Gzip = "gzip"
)

// Encodings lists the encodings of the copies, best first.
var Encodings = []string{Zstd, Gzip}

// Path is where bin's copy in enc lives.
func Path(bin, enc string) string {
	switch enc {
	case Zstd:
		return bin + ".zst"
	case Gzip:
		return bin + ".gz"
	}
	return ""
}

// zstdWindow bounds what the target's `zstd -d` holds in memory.
const zstdWindow = 8 << 20

// Write writes bin's copies in every encoding beside it (at once), each
// with fsutil.WriteAtomic, so that a copy is whole or absent.
func Write(bin string) error {
	errs := make([]error, len(Encodings))
	var wg sync.WaitGroup
	for i, enc := range Encodings {
		wg.Go(func() { errs[i] = writeOne(bin, enc) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func writeOne(bin, enc string) error {
	if enc == Zstd {
		if data, ok := zstdByProgram(bin); ok {
			return fsutil.WriteFileAtomic(Path(bin, enc), data, 0o644)
		}
	}
	src, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer src.Close()
	return fsutil.WriteAtomic(Path(bin, enc), 0o644, func(dst io.Writer) error {
		w, err := encoder(dst, enc)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, src); err != nil {
			return fmt.Errorf("compress %s: %w", bin, err)
		}
		return w.Close()
	})
}

// zstdProgram is the zstd program the copy is made with where the build
// machine has it: its level 19 makes the amd64 executor 3.26 MB, against
// 3.62 MB from klauspost/compress's best level (about 30 ms less on first
// contact at 100 Mbit/s, 0.3 s at 10 Mbit/s), at 8 s of build time per
// binary. Its window is zstdWindow's, so Decode and the target's
// `zstd -d` take it in the same memory.
var zstdProgram = "zstd"

// zstdByProgram returns bin compressed by zstdProgram, and whether that
// worked and the result decodes to bin (else the copy is made in Go).
func zstdByProgram(bin string) ([]byte, bool) {
	prog, err := exec.LookPath(zstdProgram)
	if err != nil {
		return nil, false
	}
	out, err := exec.Command(prog, "-q", "-19", "--zstd=wlog=23", "-c", "--", bin).Output()
	if err != nil {
		return nil, false
	}
	return out, decodesTo(out, bin)
}

// decodesTo reports whether the zstd stream data decodes to the file bin.
func decodesTo(data []byte, bin string) bool {
	f, err := os.Open(bin)
	if err != nil {
		return false
	}
	defer f.Close()
	want, err := readerSum(f)
	if err != nil {
		return false
	}
	r, err := Decode(bytes.NewReader(data), Zstd)
	if err != nil {
		return false
	}
	defer r.Close()
	got, err := readerSum(r)
	return err == nil && bytes.Equal(got, want)
}

// readerSum is the SHA-256 of what r yields.
func readerSum(r io.Reader) ([]byte, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

func encoder(w io.Writer, enc string) (io.WriteCloser, error) {
	switch enc {
	case Zstd:
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedBestCompression),
			zstd.WithWindowSize(zstdWindow), zstd.WithEncoderConcurrency(1))
	case Gzip:
		return gzip.NewWriterLevel(w, gzip.BestCompression)
	}
	return nil, fmt.Errorf("no encoding %q", enc)
}

// Decode returns r decompressed from enc. A truncated or damaged stream
// ends in an error, never in a short binary that looks whole.
func Decode(r io.Reader, enc string) (io.ReadCloser, error) {
	switch enc {
	case Zstd:
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdWindow))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	case Gzip:
		return gzip.NewReader(r)
	}
	return nil, errors.New("no encoding " + enc)
}
