package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShippedSumsRemembered: a binary's sum is remembered in the cache
// file (0600) by the binary's identity, is used from there by a later
// process (this one, forgetting what it saw), and is taken again when the
// binary changes in place, even with its size and mtime kept.
func TestShippedSumsRemembered(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "ferry-executor-linux-amd64")
	cache := filepath.Join(dir, "home", "cache", "executor-sums.json")
	write := func(content string) {
		t.Helper()
		st, statErr := os.Stat(bin)
		if err := os.WriteFile(bin, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		if statErr == nil {
			os.Chtimes(bin, st.ModTime(), st.ModTime())
		}
	}
	sumOf := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	forget := func() { sumsMu.Lock(); clear(sumsSeen); sumsMu.Unlock() }

	write("build one")
	got, err := shippedSums(cache, []string{bin})
	if err != nil || len(got) != 1 || got[0] != sumOf("build one") {
		t.Fatalf("first: %v, %v", got, err)
	}
	if fi, err := os.Stat(cache); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file: %v, %v", fi, err)
	}

	// A remembered sum is used as it is: poison it to see that it was.
	forget()
	data, _ := os.ReadFile(cache)
	os.WriteFile(cache, []byte(strings.ReplaceAll(string(data), sumOf("build one"), sumOf("remembered"))), 0o600)
	if got, _ := shippedSums(cache, []string{bin}); got[0] != sumOf("remembered") {
		t.Fatalf("the remembered sum was not used: %v", got)
	}

	write("build two") // same size, same mtime
	forget()
	if got, _ := shippedSums(cache, []string{bin}); got[0] != sumOf("build two") {
		t.Fatalf("a binary changed in place kept its old sum: %v", got)
	}
	write("build 3!!") // and in this process's memory too
	if got, _ := shippedSums(cache, []string{bin}); got[0] != sumOf("build 3!!") {
		t.Fatalf("a binary changed in place kept the sum this process saw: %v", got)
	}

	os.WriteFile(cache, []byte("{damaged"), 0o600)
	forget()
	if got, err := shippedSums(cache, []string{bin}); err != nil || got[0] != sumOf("build 3!!") {
		t.Fatalf("damaged cache: %v, %v", got, err)
	}
}
