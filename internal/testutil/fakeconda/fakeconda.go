// Package fakeconda locates the test stand-in for micromamba (the
// "micromamba" script in this directory): put Dir on the executor's PATH to
// make it the conda tool. See the script's header for what it accepts.
package fakeconda

import (
	"path/filepath"
	"runtime"
)

// Dir returns the directory holding the fake "micromamba" script.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}
