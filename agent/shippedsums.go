package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/ferry-ml/ferry/internal/execpack"
	"github.com/ferry-ml/ferry/internal/fsutil"
)

// The SHA-256 of each executor binary ferry ships is what the target
// checks its installed executor against. Hashing both binaries (25 MB)
// costs a command that starts an executor 15-30 ms, so the sums are
// remembered in the ferry home by each binary's identity (device, inode,
// size, mtime, ctime: any change to a binary changes its ctime), and in
// memory for the life of the process.

// sumRecord is one binary's remembered sum.
type sumRecord struct {
	Identity string `json:"identity"`
	SHA256   string `json:"sha256"`
}

var (
	sumsMu   sync.Mutex
	sumsSeen = map[string]sumRecord{} // by path, this process
)

// shippedSums returns the sums of bins, hashing only those whose identity
// is not what cacheFile (or this process) remembers, and remembering them.
func shippedSums(cacheFile string, bins []string) ([]string, error) {
	return rememberedSums(cacheFile, bins, hashFile)
}

// copySum returns the SHA-256 of what the compressed copy at path (see
// internal/execpack) decompresses to, remembered as shippedSums does.
func copySum(cacheFile, path, enc string) (string, error) {
	sums, err := rememberedSums(cacheFile, []string{path}, func(p string) (string, error) {
		return hashDecoded(p, enc)
	})
	if err != nil {
		return "", err
	}
	return sums[0], nil
}

// rememberedSums returns hash of each file, by path, remembered in
// cacheFile and this process by the file's identity.
func rememberedSums(cacheFile string, files []string, hash func(string) (string, error)) ([]string, error) {
	sumsMu.Lock()
	defer sumsMu.Unlock()
	var stored map[string]sumRecord
	changed := false
	sums := make([]string, 0, len(files))
	for _, bin := range files {
		fi, err := os.Stat(bin)
		if err != nil {
			return nil, fmt.Errorf("hash executor binary: %w", err)
		}
		id := fsutil.Identity(fi)
		rec, ok := sumsSeen[bin]
		if !ok || rec.Identity != id {
			if stored == nil {
				stored = readSums(cacheFile)
			}
			rec, ok = stored[bin]
		}
		if !ok || rec.Identity != id {
			sum, err := hash(bin)
			if err != nil {
				return nil, err
			}
			rec = sumRecord{Identity: id, SHA256: sum}
			stored[bin], changed = rec, true
		}
		sumsSeen[bin] = rec
		sums = append(sums, rec.SHA256)
	}
	if changed {
		// Only a cache: a command that cannot write it hashes again next time.
		if data, err := json.Marshal(stored); err == nil && fsutil.MkdirPrivate(filepath.Dir(cacheFile)) == nil {
			_ = fsutil.WriteCacheFile(cacheFile, data, 0o600)
		}
	}
	return sums, nil
}

// readSums reads the remembered sums; a missing or damaged file is empty.
func readSums(path string) map[string]sumRecord {
	m := map[string]sumRecord{}
	if data, err := os.ReadFile(path); err == nil {
		if json.Unmarshal(data, &m) != nil {
			m = map[string]sumRecord{}
		}
	}
	return m
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash executor binary: %w", err)
	}
	defer f.Close()
	return hashReader(path, f)
}

// hashDecoded hashes what the file at path decompresses to from enc.
func hashDecoded(path, enc string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash executor binary: %w", err)
	}
	defer f.Close()
	r, err := execpack.Decode(f, enc)
	if err != nil {
		return "", fmt.Errorf("hash executor binary %s: %w", path, err)
	}
	defer r.Close()
	return hashReader(path, r)
}

func hashReader(path string, r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", fmt.Errorf("hash executor binary %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
