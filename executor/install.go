package executor

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-ml/ferry/internal/buildinfo"
)

// pruneAge is how long an installed version may go unused (its directory's
// mtime, touched by every ensure) before install removes it.
const pruneAge = 30 * 24 * time.Hour

// InstalledPath returns where the executable of version lives.
func InstalledPath(stateDir, version string) string {
	return filepath.Join(stateDir, VersionsDir, version, "ferry-executor")
}

// Install moves exe (this binary, uploaded by the agent into tmp/ on the
// same file system) to executor/<version>/ferry-executor with an atomic
// rename, and prunes other versions unused for 30 days. It returns the
// installed path.
func Install(stateDir, exe string, logger hclog.Logger) (string, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	if err := PrepareStateDir(stateDir); err != nil {
		return "", err
	}
	dst := InstalledPath(stateDir, buildinfo.String())
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", fmt.Errorf("create version directory: %w", err)
	}
	if err := os.Chmod(exe, 0o700); err != nil {
		return "", fmt.Errorf("chmod executable: %w", err)
	}
	if err := os.Rename(exe, dst); err != nil {
		return "", fmt.Errorf("install executable: %w", err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return "", err
	}
	touchVersionDir(stateDir)
	pruneVersions(stateDir, buildinfo.String(), time.Now().Add(-pruneAge), logger)
	return dst, nil
}

// touchVersionDir marks this build's install directory as used now.
func touchVersionDir(stateDir string) {
	now := time.Now()
	os.Chtimes(filepath.Join(stateDir, VersionsDir, buildinfo.String()), now, now)
}

// pruneVersions removes version directories other than keep whose mtime is
// before cutoff.
func pruneVersions(stateDir, keep string, cutoff time.Time, logger hclog.Logger) {
	dir := filepath.Join(stateDir, VersionsDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		logger.Warn("listing installed executors", "error", err)
		return
	}
	for _, e := range ents {
		if !e.IsDir() || e.Name() == keep {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			logger.Warn("pruning unused executor", "version", e.Name(), "error", err)
			continue
		}
		logger.Info("pruned unused executor", "version", e.Name(), "last_used", fi.ModTime())
	}
}
