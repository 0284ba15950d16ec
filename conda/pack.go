package conda

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferry-ml/ferry/internal/fsutil"
)

// packFile is the packed copy of a prefix, inside its metadata directory:
// removed with the environment, never packed into itself.
const (
	packFile     = "pack.tar.gz"
	packLockFile = "pack.lock"
)

// PackPath returns where Pack keeps the archive of the prefix of key.
func (c *Cache) PackPath(key string) string {
	return filepath.Join(c.Prefix(key), metaDir, packFile)
}

// Pack returns the relocatable tar.gz of the complete environment key,
// writing it first if this is the first call for key (once per key, also
// across processes). It runs wherever it is unpacked, without conda-unpack,
// as conda-pack's archives do (see PackPrefix). waiting is called once if
// another process is packing the same key.
func (c *Cache) Pack(ctx context.Context, key string, waiting func()) (string, error) {
	if _, err := c.entry(key); err != nil {
		return "", err
	}
	dest := c.PackPath(key)
	if _, err := os.Stat(dest); err == nil {
		return dest, nil
	}
	lock, err := fsutil.Lock(ctx, filepath.Join(c.Prefix(key), metaDir, packLockFile), waiting)
	if err != nil {
		return "", fmt.Errorf("lock environment %s for packing: %w", short(key), err)
	}
	defer lock.Unlock()
	if _, err := os.Stat(dest); err == nil {
		return dest, nil
	}
	if err := packAtomic(ctx, c.Prefix(key), dest); err != nil {
		return "", fmt.Errorf("pack environment %s: %w", short(key), err)
	}
	return dest, nil
}

// packAtomic writes the archive of prefix to a temp file beside dest, then
// renames it into place.
func packAtomic(ctx context.Context, prefix, dest string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(dest), "."+packFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := PackPrefix(ctx, prefix, f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	return os.Rename(f.Name(), dest)
}

// PackPrefix writes prefix as a gzip'd tar with its files at the archive's
// root, made to run from wherever it is unpacked, as conda-pack does
// without --dest-prefix: a text file in bin/ whose only mention of the
// prefix is its shebang gets "#!/usr/bin/env NAME" instead, and a symbolic
// link to an absolute path inside the prefix becomes relative. Other files
// are stored as they are (Python locates itself; conda-unpack's other fixes
// are not needed to run it). ferry's own metadata (.ferry/) is left out.
func PackPrefix(ctx context.Context, prefix string, w io.Writer) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	err = filepath.WalkDir(prefix, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(prefix, path)
		if err != nil || rel == "." {
			return err
		}
		if rel == metaDir && d.IsDir() {
			return filepath.SkipDir
		}
		return packEntry(tw, prefix, path, filepath.ToSlash(rel))
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// packEntry adds one file, directory or link of the prefix.
func packEntry(tw *tar.Writer, prefix, path, rel string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	var link string
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(path); err != nil {
			return err
		}
		link = relocateLink(prefix, path, link)
	} else if !fi.Mode().IsRegular() && !fi.IsDir() {
		return nil // sockets, FIFOs: nothing a package ships
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name, hdr.Uname, hdr.Gname, hdr.Uid, hdr.Gid = rel, "", "", 0, 0
	if fi.IsDir() {
		hdr.Name += "/"
	}
	if !fi.Mode().IsRegular() {
		return tw.WriteHeader(hdr)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if strings.HasPrefix(rel, "bin/") {
		data = relocateShebang(data, prefix)
	}
	hdr.Size = int64(len(data))
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = tw.Write(data)
	return err
}

// relocateLink makes an absolute link into the prefix relative to the
// link's own directory; any other target is kept.
func relocateLink(prefix, path, target string) string {
	if !filepath.IsAbs(target) {
		return target
	}
	if r, err := filepath.Rel(prefix, target); err != nil || r == ".." || strings.HasPrefix(r, "../") {
		return target
	}
	rel, err := filepath.Rel(filepath.Dir(path), target)
	if err != nil {
		return target
	}
	return rel
}

// relocateShebang rewrites "#!<prefix>/bin/NAME OPTS" to "#!/usr/bin/env
// NAME OPTS" when the shebang is the file's only mention of the prefix
// (conda-pack's rule for text files in bin/).
func relocateShebang(data []byte, prefix string) []byte {
	if !bytes.HasPrefix(data, []byte("#!")) {
		return data
	}
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 {
		nl = len(data)
	}
	line, rest := string(data[2:nl]), data[nl:]
	exe, opts, _ := strings.Cut(strings.TrimSpace(line), " ")
	if !strings.HasPrefix(exe, prefix+"/") || bytes.Contains(rest, []byte(prefix)) || bytes.IndexByte(data, 0) >= 0 {
		return data
	}
	out := "#!/usr/bin/env " + filepath.Base(exe)
	if opts != "" {
		out += " " + opts
	}
	return append([]byte(out), rest...)
}
