package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ferry-ml/ferry/internal/fsutil"
)

// writeFileAtomic writes data to path with fsutil's atomic writer, so that
// readers see either the old or the new content, never a partial one, and a
// crash keeps the new content once it returns.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := fsutil.WriteFileAtomic(path, data, perm); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// writeJSONAtomic encodes v as indented JSON and writes it with
// writeFileAtomic.
func writeJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return writeFileAtomic(path, append(data, '\n'), 0o600)
}

// readJSON decodes the JSON file at path into v.
func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", filepath.Base(path), err)
	}
	return nil
}

// appendLogLine adds one "ferry: msg" line to the log file at path.
func appendLogLine(path, msg string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.WriteString("ferry: " + msg + "\n")
	return errors.Join(werr, f.Close())
}
