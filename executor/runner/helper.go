package runner

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"path/filepath"
)

// helperFiles are the Python modules every run can import: ferry_run (the
// metrics helper, also Azure ML's Run) and sitecustomize, which makes
// "from azureml.core import Run" resolve to ferry_run when azureml-core is
// not installed.
//
//go:embed python/ferry_run.py python/sitecustomize.py
var helperFiles embed.FS

// helperName is the module file scripts import as "import ferry_run".
const helperName = "ferry_run.py"

// helperNames are the files of helperFiles, installed under the same names.
var helperNames = []string{helperName, "sitecustomize.py"}

// installHelper writes the Python helpers into dir unless they are there
// already with the same content.
func installHelper(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create python helper directory: %w", err)
	}
	for _, name := range helperNames {
		src, err := helperFiles.ReadFile("python/" + name)
		if err != nil {
			return fmt.Errorf("read embedded %s: %w", name, err)
		}
		path := filepath.Join(dir, name)
		if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, src) {
			continue
		}
		if err := writeFileAtomic(path, src, 0o644); err != nil {
			return fmt.Errorf("install python helper %s: %w", name, err)
		}
	}
	return nil
}
