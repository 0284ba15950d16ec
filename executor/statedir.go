package executor

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ferry-ml/ferry/executor/api"
)

// Names inside the state directory (see the package documentation).
const (
	SocketName   = "executor.sock"
	LockName     = "executor.lock"
	LogName      = "executor.log"
	VersionsDir  = "executor"
	BlobsDir     = "blobs"
	IndexDir     = "index"
	SnapshotsDir = "snapshots"
	TmpDir       = "tmp"
	ChunksDir    = "chunks" // chunk lists of large blobs, a cache (chunks.go)
)

// maxSocketPath is the longest path a unix socket may have on Linux
// (sun_path is 108 bytes including the terminating NUL).
const maxSocketPath = 107

// SocketPath returns the API socket of the executor serving stateDir.
func SocketPath(stateDir string) string { return filepath.Join(stateDir, SocketName) }

// PrepareStateDir creates stateDir (0700) and the directories the blob
// store needs. It makes stateDir itself 0700 even if it existed.
func PrepareStateDir(stateDir string) error {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	if err := os.Chmod(stateDir, 0o700); err != nil {
		return fmt.Errorf("chmod state directory: %w", err)
	}
	for _, d := range []string{BlobsDir, IndexDir, SnapshotsDir, api.IncomingDir, TmpDir, VersionsDir, ChunksDir} {
		if err := os.Mkdir(filepath.Join(stateDir, d), 0o700); err != nil && !os.IsExist(err) {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	return nil
}
