package history

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogStore(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "history.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.OpenLog("r1"); !errors.Is(err, ErrNoLog) || s.HasLog("r1") {
		t.Fatalf("missing log: %v", err)
	}
	log := strings.Repeat("epoch 1 loss 0.31\n", 10000) + "no newline at the end"
	if err := s.PutLog("r1", strings.NewReader(log)); err != nil {
		t.Fatal(err)
	}
	rc, err := s.OpenLog("r1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if err != nil || string(got) != log || rc.Close() != nil {
		t.Fatalf("read back %d bytes, %v; want %d", len(got), err, len(log))
	}
	fi, err := os.Stat(filepath.Join(dir, "logs", "r1.log.gz"))
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() > int64(len(log))/20 {
		t.Fatalf("stored file: %v, %v (want 0600 and compressed)", fi, err)
	}
	if err := s.PutLog("../x", bytes.NewReader(nil)); err == nil {
		t.Fatal("a run id naming another folder was accepted")
	}
}
