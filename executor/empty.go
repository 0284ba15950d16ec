package executor

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// StoreEmpty reports whether the store under stateDir holds no blob and no
// snapshot. Then a sync's plan is known without asking: every blob is
// missing and there is no base. Ensure says so in its protocol line, and
// ferry skips the plan's round trips on first contact. It reads the
// snapshots folder and the 256 blob folders (about 0.3 ms); one it cannot
// read counts as not empty. A concurrent upload may add blobs right after:
// a client that trusted the answer then sends some blobs again, which
// ingest takes as it takes a racing stream's.
func StoreEmpty(stateDir string) bool {
	if !dirEmpty(filepath.Join(stateDir, SnapshotsDir)) {
		return false
	}
	for i := range 256 {
		if !dirEmpty(filepath.Join(stateDir, BlobsDir, fmt.Sprintf("%02x", i))) {
			return false
		}
	}
	return true
}

// dirEmpty reports whether dir has no entries (or does not exist).
func dirEmpty(dir string) bool {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	return err == io.EOF
}
