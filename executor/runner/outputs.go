package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferry-ml/ferry/executor/api"
)

// errBadPath: a requested file path is not a local path under the run.
var errBadPath = errors.New("path is outside the run")

func (r *Runner) handleOutputs(w http.ResponseWriter, req *http.Request) {
	paths, _, err := r.logTarget(req.PathValue("id"))
	if err != nil {
		writeRunError(w, err)
		return
	}
	files, err := listOutputs(paths.outputs())
	if err != nil {
		writeRunError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, files)
}

// listOutputs describes every file and symlink under dir, confined to dir
// with os.Root (symlinks are reported, never followed). A missing dir
// yields an empty list.
func listOutputs(dir string) ([]api.OutputFile, error) {
	files := []api.OutputFile{}
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return files, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open outputs: %w", err)
	}
	defer root.Close()
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		out, ok, err := describeOutput(root, p, d)
		if ok {
			files = append(files, out)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list outputs: %w", err)
	}
	return files, nil
}

// describeOutput describes one entry; ok is false for entries that are
// neither regular files nor symlinks (FIFOs, sockets, devices).
func describeOutput(root *os.Root, p string, d fs.DirEntry) (api.OutputFile, bool, error) {
	info, err := d.Info()
	if err != nil {
		return api.OutputFile{}, false, err
	}
	out := api.OutputFile{Path: p, Mode: uint32(info.Mode().Perm()), Size: info.Size()}
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		out.Link, err = root.Readlink(filepath.FromSlash(p))
		return out, err == nil, err
	case info.Mode().IsRegular():
		out.Hash, out.Size, err = hashFile(root, filepath.FromSlash(p))
		return out, err == nil, err
	default:
		return api.OutputFile{}, false, nil
	}
}

// hashFile returns the SHA-256 and size of a file in root.
func hashFile(root *os.Root, name string) (string, int64, error) {
	f, err := root.Open(name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// handleFile serves GET /v1/runs/{id}/files/{path}: a regular file under the
// run's working directory (outputs/ included), confined with os.Root.
// Range requests are honoured.
func (r *Runner) handleFile(w http.ResponseWriter, req *http.Request) {
	paths, _, err := r.logTarget(req.PathValue("id"))
	if err != nil {
		writeRunError(w, err)
		return
	}
	rel := req.PathValue("path")
	if !filepath.IsLocal(filepath.FromSlash(rel)) || strings.Contains(rel, "\\") {
		writeRunError(w, fmt.Errorf("file %q: %w", rel, errBadPath))
		return
	}
	f, fi, err := openRunFile(paths.work(), rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			writeError(w, http.StatusNotFound, "not_found", err.Error())
		} else {
			writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		}
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, req, "", fi.ModTime(), f)
}

// openRunFile opens the regular file rel under work.
func openRunFile(work, rel string) (*os.File, fs.FileInfo, error) {
	root, err := os.OpenRoot(work)
	if err != nil {
		return nil, nil, fmt.Errorf("open working directory: %w", err)
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(rel))
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", rel, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("open %s: not a regular file", rel)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}
