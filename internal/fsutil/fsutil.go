package fsutil

import (
	"fmt"
	"os"
)

// MkdirPrivate creates dir and its parents with mode 0700.
func MkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	return nil
}
