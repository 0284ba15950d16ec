package outputs

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/ferry-ml/ferry/executor/api"
)

// defaultMode is used for files whose recorded mode has no permission bits.
const defaultMode = 0o644

// Missing returns the distinct blob ids that files need and the store lacks,
// in the order they first appear. Symbolic links need no blob.
func (s *Store) Missing(files []api.OutputFile) []string {
	seen := make(map[string]bool)
	var missing []string
	for _, f := range files {
		if f.Link != "" || seen[f.Hash] {
			continue
		}
		seen[f.Hash] = true
		if !s.Has(f.Hash) {
			missing = append(missing, f.Hash)
		}
	}
	return missing
}

// Materialize recreates the outputs tree described by files under dst,
// creating dst if needed. Regular files are copied from the store (their
// content re-verified on the way) with their permission bits; each goes to a
// temporary file beside it and is renamed into place, replacing any file of
// the same name. Symbolic links are recreated as links.
//
// All writes go through an os.Root on dst: a path that is absolute,
// contains "..", or would escape dst through a symbolic link is refused, and
// so is a link whose target points outside dst, resolved through every
// other link (see linkResolver) before anything is written. Permission
// bits come from the target with the process umask applied. When a blob is missing
// Materialize writes nothing and returns an error wrapping ErrMissing.
func (s *Store) Materialize(files []api.OutputFile, dst string) error {
	for _, f := range files {
		if err := checkFile(f); err != nil {
			return err
		}
	}
	if missing := s.Missing(files); len(missing) > 0 {
		return fmt.Errorf("materialize outputs: %d blobs, first %s: %w", len(missing), short(missing[0]), ErrMissing)
	}
	if err := checkLinks(files, dst); err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("materialize outputs: %w", err)
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		return fmt.Errorf("materialize outputs: %w", err)
	}
	defer root.Close()
	for _, f := range files {
		if err := s.materializeOne(root, f); err != nil {
			return fmt.Errorf("materialize %s: %w", f.Path, err)
		}
	}
	return nil
}

// checkFile refuses output paths and link targets that leave the tree.
func checkFile(f api.OutputFile) error {
	if f.Path == "." || !filepath.IsLocal(filepath.FromSlash(f.Path)) || path.Clean(f.Path) != f.Path {
		return fmt.Errorf("materialize outputs: refusing path %q outside the outputs directory", f.Path)
	}
	if f.Link != "" {
		target := path.Join(path.Dir(f.Path), f.Link)
		if path.IsAbs(f.Link) || !filepath.IsLocal(filepath.FromSlash(target)) {
			return fmt.Errorf("materialize outputs: refusing link %q -> %q pointing outside the outputs directory", f.Path, f.Link)
		}
		return nil
	}
	return ValidID(f.Hash)
}

// materializeOne writes one file or link under root.
func (s *Store) materializeOne(root *os.Root, f api.OutputFile) error {
	name := filepath.FromSlash(f.Path)
	if dir := filepath.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := filepath.Join(filepath.Dir(name), ".ferry-tmp-"+rand.Text()[:12])
	var err error
	if f.Link != "" {
		err = root.Symlink(f.Link, tmp)
	} else {
		err = s.copyBlob(root, tmp, f)
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		if rerr := root.Remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
		return err
	}
	return nil
}

// copyBlob copies blob f.Hash into the new file tmp under root, verifying
// its hash, and sets its permission bits.
func (s *Store) copyBlob(root *os.Root, tmp string, f api.OutputFile) error {
	src, err := s.OpenBlob(f.Hash)
	if err != nil {
		return err
	}
	defer src.Close()
	mode := fs.FileMode(f.Mode) & fs.ModePerm
	if mode == 0 {
		mode = defaultMode
	}
	// Created with its final mode, so the kernel applies the umask (a
	// chmod would not): a target's 0777 lands as 0755 under umask 022.
	out, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), src)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if actual := hex.EncodeToString(h.Sum(nil)); actual != f.Hash {
		return &CorruptError{ID: f.Hash, Actual: actual}
	}
	return nil
}
