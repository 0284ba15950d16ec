package executor

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/testutil"
)

func testLogger(t testing.TB) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: t.Output(), Level: hclog.Debug})
}

func newTestStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := OpenStore(dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func hexID(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// writePack writes blobs as a pack named name into stateDir/incoming; a
// record whose blob is in corrupt gets one body byte flipped.
func writePack(t testing.TB, stateDir, name string, blobs [][]byte, corrupt ...int) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := api.NewPackWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range blobs {
		body := b
		if slices.Contains(corrupt, i) {
			body = bytes.Clone(b)
			body[0] ^= 0xff
		}
		if err := w.Add(sha256.Sum256(b), bytes.NewReader(body), int64(len(body))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stateDir, api.IncomingDir, name), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func blobsN(n, size int, seed string) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = bytes.Repeat([]byte(seed+string(rune('a'+i%26))+hex.EncodeToString([]byte{byte(i), byte(i >> 8)})), size/8+1)[:size]
	}
	return out
}

func ids(blobs [][]byte) []string {
	out := make([]string, len(blobs))
	for i, b := range blobs {
		out[i] = hexID(b)
	}
	return out
}

func tmpFiles(t testing.TB, stateDir string) []string {
	t.Helper()
	return testutil.DirNames(t, filepath.Join(stateDir, TmpDir))
}

func TestIngest(t *testing.T) {
	tests := []struct {
		name     string
		blobs    int // 40 > fewFiles takes the syncfs path, 3 the fsync path
		corrupt  []int
		rejected int
	}{
		{"few blobs fsynced one by one", 3, nil, 0},
		{"many blobs one syncfs", 40, nil, 0},
		{"corrupt record rejected, rest stored", 5, []int{2}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newTestStore(t, dir)
			blobs := blobsN(tt.blobs, 5000, tt.name[:3])
			pack := writePack(t, dir, "p1", blobs, tt.corrupt...)
			resp, err := s.Ingest(t.Context(), []string{pack})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Rejected) != tt.rejected || resp.Blobs != tt.blobs-tt.rejected {
				t.Fatalf("response %+v, want %d stored and %d rejected", resp, tt.blobs-tt.rejected, tt.rejected)
			}
			missing, err := s.Missing(t.Context(), ids(blobs), false)
			if err != nil {
				t.Fatal(err)
			}
			var wantMissing []string
			for _, i := range tt.corrupt {
				wantMissing = append(wantMissing, hexID(blobs[i]))
			}
			if !slices.Equal(missing, wantMissing) && len(missing)+len(wantMissing) > 0 {
				t.Errorf("missing %v, want %v", missing, wantMissing)
			}
			for i, b := range blobs {
				if slices.Contains(tt.corrupt, i) {
					continue
				}
				p := filepath.Join(dir, BlobsDir, hexID(b)[:2], hexID(b))
				fi, err := os.Stat(p)
				if err != nil || fi.Mode() != 0o444 || fi.Size() != int64(len(b)) {
					t.Fatalf("blob %d: %v %v", i, fi, err)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, api.IncomingDir, pack)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("pack not removed after ingest: %v", err)
			}
			if left := tmpFiles(t, dir); len(left) != 0 {
				t.Errorf("temp files left: %v", left)
			}
		})
	}
}

func TestIngestDamagedPackStoresNothing(t *testing.T) {
	dir := t.TempDir()
	s := newTestStore(t, dir)
	blobs := blobsN(30, 3000, "trunc")
	pack := writePack(t, dir, "p", blobs)
	p := filepath.Join(dir, api.IncomingDir, pack)
	fi, _ := os.Stat(p)
	if err := os.Truncate(p, fi.Size()-10); err != nil {
		t.Fatal(err)
	}
	_, err := s.Ingest(t.Context(), []string{pack})
	if !errors.Is(err, api.ErrPackCorrupt) {
		t.Fatalf("ingest of a truncated pack: %v, want ErrPackCorrupt", err)
	}
	missing, err := s.Missing(t.Context(), ids(blobs), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != len(blobs) {
		t.Errorf("%d of %d blobs stored from a truncated pack", len(blobs)-len(missing), len(blobs))
	}
	if left := tmpFiles(t, dir); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
}

func TestIngestBadPackName(t *testing.T) {
	s := newTestStore(t, t.TempDir())
	for _, name := range []string{"../x", "", "a/b", "nope"} {
		var re *RequestError
		if _, err := s.Ingest(t.Context(), []string{name}); !errors.As(err, &re) {
			t.Errorf("ingest %q: %v, want a RequestError", name, err)
		}
	}
}

func TestIngestNoSpace(t *testing.T) {
	if os.Geteuid() != 0 {
		SkipOrFailf(t, "mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := mountTmpfs(dir, "4m"); err != nil {
		SkipOrFailf(t, "mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unmount(dir) })
	s := newTestStore(t, dir)
	blobs := blobsN(3, 1<<20, "big") // a 3 MiB pack, then 3 MiB of temp files on a 4 MiB fs
	pack := writePack(t, dir, "p", blobs)
	_, err := s.Ingest(t.Context(), []string{pack})
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("ingest on a full disk: %v, want ErrNoSpace", err)
	}
	if left := tmpFiles(t, dir); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
	missing, err := s.Missing(t.Context(), ids(blobs), false)
	if err != nil || len(missing) != len(blobs) {
		t.Errorf("after ENOSPC missing=%d of %d (err %v): something partial was stored", len(missing), len(blobs), err)
	}
}

func TestMissingDetectsDamage(t *testing.T) {
	dir := t.TempDir()
	s := newTestStore(t, dir)
	blobs := blobsN(4, 4096, "dmg")
	if _, err := s.Ingest(t.Context(), []string{writePack(t, dir, "p", blobs)}); err != nil {
		t.Fatal(err)
	}
	path := func(i int) string { return s.blobPath(sha256.Sum256(blobs[i])) }
	// 0: truncated; 1: rewritten with the same size; 2: bit rot the stat
	// cannot see (index updated to the damaged file's stat); 3: intact.
	if err := os.Truncate(path(0), 100); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path(1), 0o644)
	if err := os.WriteFile(path(1), bytes.Repeat([]byte("z"), 4096), 0o444); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path(1), 0o444)
	os.Chmod(path(2), 0o644)
	os.WriteFile(path(2), bytes.Repeat([]byte("y"), 4096), 0o444)
	os.Chmod(path(2), 0o444)
	fi, _ := os.Lstat(path(2))
	s.idx.add(map[[32]byte]blobStat{sha256.Sum256(blobs[2]): statOf(fi)})

	missing, err := s.Missing(t.Context(), ids(blobs), false)
	if err != nil {
		t.Fatal(err)
	}
	if want := ids(blobs[:2]); !slices.Equal(missing, want) {
		t.Errorf("missing without verify = %v, want the truncated and rewritten blobs %v", missing, want)
	}
	missing, err = s.Missing(t.Context(), ids(blobs), true)
	if err != nil {
		t.Fatal(err)
	}
	if want := ids(blobs[:3]); !slices.Equal(missing, want) {
		t.Errorf("missing with verify = %v, want %v", missing, want)
	}
	for i := range 3 {
		if _, err := os.Lstat(path(i)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("corrupt blob %d not deleted: %v", i, err)
		}
	}
}

func TestMissingTrustsUnindexedGoodBlob(t *testing.T) {
	dir := t.TempDir()
	s := newTestStore(t, dir)
	b := []byte("placed by hand")
	id := sha256.Sum256(b)
	if err := os.WriteFile(s.blobPath(id), b, 0o600); err != nil {
		t.Fatal(err)
	}
	missing, err := s.Missing(t.Context(), []string{hexID(b)}, false)
	if err != nil || len(missing) != 0 {
		t.Fatalf("missing=%v err=%v, want the good blob present", missing, err)
	}
	s2 := newTestStore(t, dir) // reloads the index from disk
	if !s2.trusted(id) {
		t.Error("re-hashed blob not trusted after reopening the store")
	}
	if _, err := s.Missing(t.Context(), []string{"xyz"}, false); err == nil {
		t.Error("malformed id accepted")
	}
}
