package pipenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/internal/tailbuf"
)

// maxTail is how much of a failed build's output its error keeps.
const maxTail = 2048

// BuildError is a venv or pip step that failed; Tail is the end of its
// output (already streamed to the build's output in full).
type BuildError struct {
	Step string // "python -m venv" or "pip install"
	Err  error
	Tail string
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("build pip environment: %s: %v\n%s", e.Step, e.Err, e.Tail)
}

// Unwrap returns the cause.
func (e *BuildError) Unwrap() error { return e.Err }

// PythonVersion asks python for its full version (sys.version, which names
// the build too), for the key.
func PythonVersion(ctx context.Context, python string) (string, error) {
	out, err := exec.CommandContext(ctx, python, "-c", "import sys; print(sys.version)").Output()
	if err != nil {
		return "", fmt.Errorf("ask %s for its version: %w", python, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Build makes a venv at prefix from python and installs the requirements
// file (a path relative to work, the project's files) into it with pip,
// run from the file's folder as a user would. prefix must not exist. The
// output goes to out; a failure is a *BuildError, and the caller removes
// the prefix.
func Build(ctx context.Context, python, prefix, work, file string, out io.Writer) error {
	if err := step(ctx, "python -m venv", work, out, python, "-m", "venv", prefix); err != nil {
		return err
	}
	abs := filepath.Join(work, filepath.FromSlash(file))
	return step(ctx, "pip install", filepath.Dir(abs), out, filepath.Join(prefix, "bin", "python"),
		"-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off", "-r", abs)
}

// step runs one command with stdin closed, its output copied to out.
func step(ctx context.Context, name, dir string, out io.Writer, argv ...string) error {
	tail := tailbuf.New(maxTail)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PIP_NO_INPUT=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PYTHONNOUSERSITE=1")
	w := io.MultiWriter(out, tail)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return errors.Join(ctx.Err(), err)
		}
		return &BuildError{Step: name, Err: err, Tail: tail.String()}
	}
	return nil
}
