package runner

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

//go:embed python/ferry_run.py
var helperSource []byte

// helperName is the module file scripts import as "import ferry_run".
const helperName = "ferry_run.py"

// installHelper writes the Python helper into dir unless it is there
// already with the same content.
func installHelper(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create python helper directory: %w", err)
	}
	path := filepath.Join(dir, helperName)
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, helperSource) {
		return nil
	}
	if err := writeFileAtomic(path, helperSource, 0o644); err != nil {
		return fmt.Errorf("install python helper: %w", err)
	}
	return nil
}
