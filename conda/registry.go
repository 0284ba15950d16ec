package conda

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ferry-ml/ferry/internal/fsutil"
)

// unregister removes prefix from ~/.conda/environments.txt, where conda
// and micromamba list every environment they create ("conda env list"
// reads it), so that a removed environment is not listed there any more.
// A missing file is fine.
func unregister(prefix string) error {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil // no home: nothing was registered there
	}
	name := filepath.Join(home, ".conda", "environments.txt")
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read conda environments list: %w", err)
	}
	var kept [][]byte
	for _, line := range bytes.Split(data, []byte("\n")) {
		if p := bytes.TrimSpace(line); len(p) > 0 && filepath.Clean(string(p)) != prefix {
			kept = append(kept, line)
		}
	}
	out := bytes.Join(kept, []byte("\n"))
	if len(out) > 0 {
		out = append(out, '\n')
	}
	if bytes.Equal(out, data) {
		return nil
	}
	if err := fsutil.WriteFileAtomic(name, out, 0o644); err != nil {
		return fmt.Errorf("update conda environments list: %w", err)
	}
	return nil
}
