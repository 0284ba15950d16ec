package outputs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ferry-ml/ferry/executor/api"
)

// storeWith returns a store holding contents and the OutputFile for each.
func storeWith(t *testing.T, contents ...string) (*Store, string) {
	t.Helper()
	s, dir := openStore(t)
	for _, c := range contents {
		if err := s.Put(hashOf(c), strings.NewReader(c)); err != nil {
			t.Fatal(err)
		}
	}
	return s, dir
}

func file(p, content string, mode uint32) api.OutputFile {
	return api.OutputFile{Path: p, Mode: mode, Size: int64(len(content)), Hash: hashOf(content)}
}

func TestMaterialize(t *testing.T) {
	s, _ := storeWith(t, "w1", "log line\n", "#!/bin/sh\n", "")
	dst := filepath.Join(t.TempDir(), "out")
	files := []api.OutputFile{
		file("model/weights.bin", "w1", 0o600),
		file("model/copy.bin", "w1", 0o644),
		file("train.log", "log line\n", 0),
		file("bin/run.sh", "#!/bin/sh\n", 0o755),
		file("empty", "", 0o644),
		{Path: "latest", Link: "model/weights.bin"},
		{Path: "model/up", Link: "../train.log"},
	}
	if err := s.Materialize(files, dst); err != nil {
		t.Fatalf("Materialize: %v", err)
	}
	want := map[string]struct {
		content string
		mode    fs.FileMode
	}{
		"model/weights.bin": {"w1", 0o600},
		"model/copy.bin":    {"w1", 0o644},
		"train.log":         {"log line\n", defaultMode},
		"bin/run.sh":        {"#!/bin/sh\n", 0o755},
		"empty":             {"", 0o644},
		"latest":            {"w1", 0o600},
		"model/up":          {"log line\n", defaultMode},
	}
	for p, w := range want {
		full := filepath.Join(dst, filepath.FromSlash(p))
		b, err := os.ReadFile(full)
		if err != nil || string(b) != w.content {
			t.Errorf("%s = %q, %v; want %q", p, b, err, w.content)
		}
		if fi, err := os.Stat(full); err != nil || fi.Mode().Perm() != w.mode {
			t.Errorf("%s mode = %v, want %v", p, fi.Mode().Perm(), w.mode)
		}
	}
	if target, err := os.Readlink(filepath.Join(dst, "latest")); err != nil || target != "model/weights.bin" {
		t.Errorf("latest link = %q, %v", target, err)
	}
	if got := entries(t, dst); len(got) != len(want) {
		t.Errorf("dst holds %v, want exactly %d entries (no temp files)", got, len(want))
	}
}

func TestMaterializeReplacesExisting(t *testing.T) {
	s, _ := storeWith(t, "new")
	dst := t.TempDir()
	if err := os.WriteFile(filepath.Join(dst, "a.txt"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Materialize([]api.OutputFile{file("a.txt", "new", 0o644)}, dst); err != nil {
		t.Fatalf("Materialize: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "a.txt")); string(b) != "new" {
		t.Fatalf("a.txt = %q, want it replaced with %q", b, "new")
	}
}

func TestMaterializeRefusesEscapes(t *testing.T) {
	s, _ := storeWith(t, "x")
	tests := []struct {
		name string
		file api.OutputFile
	}{
		{"parent", file("../x", "x", 0o644)},
		{"nested parent", file("a/../../x", "x", 0o644)},
		{"absolute", file("/tmp/x", "x", 0o644)},
		{"unclean", file("a//x", "x", 0o644)},
		{"dot", file(".", "x", 0o644)},
		{"empty", file("", "x", 0o644)},
		{"link up", api.OutputFile{Path: "a/l", Link: "../../secret"}},
		{"absolute link", api.OutputFile{Path: "l", Link: "/etc/passwd"}},
		{"invalid hash", api.OutputFile{Path: "f", Hash: "../../etc/passwd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dst := filepath.Join(parent, "out")
			ok := file("ok.txt", "x", 0o644)
			if err := s.Materialize([]api.OutputFile{ok, tt.file}, dst); err == nil {
				t.Fatalf("Materialize(%+v) = nil, want a refusal", tt.file)
			}
			if got := entries(t, parent); len(got) != 0 {
				t.Fatalf("refused tree wrote %v, want nothing written", got)
			}
		})
	}
}

func TestMaterializeRefusesSymlinkEscape(t *testing.T) {
	s, _ := storeWith(t, "x")
	outside := t.TempDir()
	dst := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dst, "evil")); err != nil {
		t.Fatal(err)
	}
	err := s.Materialize([]api.OutputFile{file("evil/x", "x", 0o644)}, dst)
	if err == nil {
		t.Fatal("Materialize through a symlink out of dst = nil, want an error")
	}
	if got := entries(t, outside); len(got) != 0 {
		t.Fatalf("wrote %v outside dst", got)
	}
}

func TestMaterializeMissingBlob(t *testing.T) {
	s, _ := storeWith(t, "have")
	dst := filepath.Join(t.TempDir(), "out")
	files := []api.OutputFile{file("a", "have", 0o644), file("b", "lack", 0o644), file("c", "lack", 0o644)}
	if got := s.Missing(files); !slices.Equal(got, []string{hashOf("lack")}) {
		t.Fatalf("Missing = %v, want [%s]", got, hashOf("lack"))
	}
	err := s.Materialize(files, dst)
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("Materialize with a missing blob = %v, want ErrMissing", err)
	}
	if _, err := os.Stat(dst); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("dst was created (%v), want nothing written", err)
	}
}

func TestMaterializeCorruptBlobAtRest(t *testing.T) {
	s, dir := storeWith(t, "good bytes")
	id := hashOf("good bytes")
	if err := os.WriteFile(filepath.Join(dir, id[:2], id), []byte("bit rot"), 0o600); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	err := s.Materialize([]api.OutputFile{file("f", "good bytes", 0o644)}, dst)
	var corrupt *CorruptError
	if !errors.As(err, &corrupt) || corrupt.ID != id {
		t.Fatalf("Materialize of a rotten blob = %v, want *CorruptError", err)
	}
	if got := entries(t, dst); len(got) != 0 {
		t.Fatalf("dst holds %v, want nothing (no partial or temp file)", got)
	}
}

// TestMaterializeRefusesLinkChainEscape: each link alone looks local
// lexically, but a/b -> .. makes a/b/.. the folder above the outputs, and
// l2 climbs one more. Nothing may be written.
func TestMaterializeRefusesLinkChainEscape(t *testing.T) {
	s, _ := storeWith(t, "x")
	tests := []struct {
		name  string
		files []api.OutputFile
	}{
		{"chain", []api.OutputFile{
			{Path: "a/b", Link: ".."}, {Path: "l1", Link: "a/b/.."}, {Path: "l2", Link: "l1/.."},
		}},
		{"chain, later link first", []api.OutputFile{
			{Path: "l2", Link: "l1/.."}, {Path: "l1", Link: "a/b/.."}, {Path: "a/b", Link: ".."},
		}},
		{"through a link to a dir", []api.OutputFile{
			{Path: "d/up", Link: "../.."}, {Path: "e", Link: "d/up"},
		}},
		{"loop", []api.OutputFile{{Path: "x", Link: "y/z"}, {Path: "y", Link: "x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dst := filepath.Join(parent, "out")
			files := append([]api.OutputFile{file("ok.txt", "x", 0o644)}, tt.files...)
			if err := s.Materialize(files, dst); err == nil {
				t.Fatal("Materialize = nil, want a refusal")
			}
			if got := entries(t, parent); len(got) != 0 {
				t.Fatalf("refused tree wrote %v, want nothing written", got)
			}
		})
	}
}

// TestMaterializeRefusesChainThroughExistingLink: a link left on disk by
// an earlier download counts too.
func TestMaterializeRefusesChainThroughExistingLink(t *testing.T) {
	s, _ := storeWith(t, "x")
	dst := filepath.Join(t.TempDir(), "out")
	if err := os.MkdirAll(filepath.Join(dst, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..", filepath.Join(dst, "a", "b")); err != nil {
		t.Fatal(err)
	}
	err := s.Materialize([]api.OutputFile{{Path: "l1", Link: "a/b/.."}}, dst)
	if err == nil {
		t.Fatal("Materialize = nil, want a refusal")
	}
	if _, err := os.Lstat(filepath.Join(dst, "l1")); err == nil {
		t.Fatal("l1 was created")
	}
}

// TestMaterializeAllowsLocalLinkChains: chains that stay inside are kept.
func TestMaterializeAllowsLocalLinkChains(t *testing.T) {
	s, _ := storeWith(t, "x")
	dst := filepath.Join(t.TempDir(), "out")
	files := []api.OutputFile{
		file("d/f", "x", 0o644),
		{Path: "a/b", Link: "../d"}, {Path: "l1", Link: "a/b/f"}, {Path: "l2", Link: "a/b/../d/f"},
	}
	if err := s.Materialize(files, dst); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"l1", "l2"} {
		if b, err := os.ReadFile(filepath.Join(dst, l)); err != nil || string(b) != "x" {
			t.Errorf("%s = %q, %v", l, b, err)
		}
	}
}

// TestMaterializeAppliesUmask: a target's 0777 lands as 0750 under umask 027.
func TestMaterializeAppliesUmask(t *testing.T) {
	old := syscall.Umask(0o027)
	t.Cleanup(func() { syscall.Umask(old) })
	s, _ := storeWith(t, "x")
	dst := filepath.Join(t.TempDir(), "out")
	if err := s.Materialize([]api.OutputFile{file("run.sh", "x", 0o777)}, dst); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dst, "run.sh"))
	if err != nil || st.Mode().Perm() != 0o750 {
		t.Fatalf("mode = %v, %v; want 0750", st.Mode().Perm(), err)
	}
}
