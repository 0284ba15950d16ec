package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// IgnoreChecker answers, for one path at a time, whether Walk would leave
// it out, by the same rules (it is meant for `ferry watch`, which sees
// single changed paths). Ignore files are read lazily, once per
// directory, and cached until Invalidate. It is safe for concurrent use.
type IgnoreChecker struct {
	root string

	mu    sync.Mutex
	files map[string]*ignoreFile // by directory; nil value: no ignore file
}

// NewIgnoreChecker returns a checker for the source directory root. It
// reads nothing until Ignored is called.
func NewIgnoreChecker(root string) *IgnoreChecker {
	return &IgnoreChecker{root: root, files: make(map[string]*ignoreFile)}
}

// Ignored reports whether rel (relative to root, "/"-separated) is left
// out of the snapshot: rel or one of its parent directories is excluded,
// or one of them is named ".git", or rel is under the root's ".ferry".
// isDir says whether rel itself is a directory (a symlink is not). Parents
// are checked first, as Walk never enters an excluded directory; they are
// taken to be directories (a path under a symlinked directory is never in
// a snapshot anyway, and no ignore file is read through one). The root
// itself ("" or ".") is never ignored. The error names an ignore file that
// could not be read.
func (c *IgnoreChecker) Ignored(rel string, isDir bool) (bool, error) {
	rel = strings.Trim(filepath.ToSlash(rel), "/")
	if rel == "" || rel == "." {
		return false, nil
	}
	parts := strings.Split(rel, "/")
	var rules *ruleChain
	for i, name := range parts {
		if name == ".git" || (i == 0 && name == ".ferry") {
			return true, nil
		}
		dir := strings.Join(parts[:i], "/")
		f, err := c.load(dir)
		if err != nil {
			return false, err
		}
		if f != nil && len(f.patterns) > 0 {
			rules = &ruleChain{file: f, parent: rules}
		}
		path := joinRel(dir, name)
		if rules.excluded(path, name, isDir || i < len(parts)-1) {
			return true, nil
		}
	}
	return false, nil
}

// Invalidate drops the cached rules of directory dir (relative to root,
// "" for the root), so the next Ignored call re-reads its ignore file.
// Call it whenever a file for which IsIgnoreFile is true changes in dir.
func (c *IgnoreChecker) Invalidate(dir string) {
	dir = strings.Trim(filepath.ToSlash(dir), "/")
	if dir == "." {
		dir = ""
	}
	c.mu.Lock()
	delete(c.files, dir)
	c.mu.Unlock()
}

// load returns the parsed ignore file of dir (nil if it has none), from the
// cache or from disk.
func (c *IgnoreChecker) load(dir string) (*ignoreFile, error) {
	c.mu.Lock()
	f, ok := c.files[dir]
	c.mu.Unlock()
	if ok {
		return f, nil
	}
	f, err := c.read(dir)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.files[dir] = f
	c.mu.Unlock()
	return f, nil
}

// read finds the winning ignore file of dir the way Walk does (regular
// files only, .ferryignore before .amlignore before .gitignore) and parses
// it. A dir that is missing or not a real directory has no rules.
func (c *IgnoreChecker) read(dir string) (*ignoreFile, error) {
	absDir := filepath.Join(c.root, filepath.FromSlash(dir))
	if dir != "" {
		// Never read through a symlinked directory: Walk does not enter
		// one, and its target may lie outside the source directory.
		fi, err := os.Lstat(absDir)
		if err != nil || !fi.IsDir() {
			return nil, nil
		}
	}
	for _, name := range ignoreFileNames {
		abs := filepath.Join(absDir, name)
		fi, err := os.Lstat(abs)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("stat ignore file: %w", err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		return readIgnoreFile(abs, dir)
	}
	return nil, nil
}
