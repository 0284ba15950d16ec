package outputs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ferry-ml/ferry/executor/api"
)

// maxLinkHops bounds link chains while resolving, like the kernel's ELOOP.
const maxLinkHops = 40

// errEscapes marks a path that resolves outside the outputs directory.
var errEscapes = errors.New("resolves outside the outputs directory")

// linkResolver resolves paths inside the outputs directory the way the
// kernel will once every link exists: each component that is a link (in
// the outputs being written, or already on disk under root) is replaced by
// its target before the next ".." is applied. A lexical check alone lets
// a chain such as a/b -> .., l1 -> a/b/.., l2 -> l1/.. out of the folder.
type linkResolver struct {
	root  *os.Root          // nil when the outputs directory does not exist yet
	links map[string]string // path -> link target; "" for a regular file
}

func newLinkResolver(root *os.Root, files []api.OutputFile) *linkResolver {
	links := make(map[string]string, len(files))
	for _, f := range files {
		links[f.Path] = f.Link
	}
	return &linkResolver{root: root, links: links}
}

// checkLinks refuses the first link in files whose target, resolved through
// every link in files and those already under dst, leaves dst. It writes
// nothing.
func checkLinks(files []api.OutputFile, dst string) error {
	root, err := os.OpenRoot(dst)
	if err == nil {
		defer root.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("materialize outputs: %w", err)
	}
	return newLinkResolver(root, files).checkLinks(files)
}

// checkLinks refuses the first link in files whose target, resolved
// through every link, leaves the outputs directory.
func (r *linkResolver) checkLinks(files []api.OutputFile) error {
	for _, f := range files {
		if f.Link == "" {
			continue
		}
		// Not path.Join: cleaning would fold "a/b/.." into "a" before a/b
		// is known to be a link.
		if _, err := r.resolve(path.Dir(f.Path) + "/" + f.Link); err != nil {
			return fmt.Errorf("materialize outputs: refusing link %q -> %q: %w", f.Path, f.Link, err)
		}
	}
	return nil
}

// resolve returns p (relative to the outputs directory, "/"-separated)
// with every link in it replaced, or errEscapes.
func (r *linkResolver) resolve(p string) (string, error) {
	var done []string
	rest := splitPath(p)
	for hops := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) == 0 {
				return "", errEscapes
			}
			done = done[:len(done)-1]
			continue
		}
		cur := path.Join(append(done, c)...)
		target, isLink := r.linkAt(cur)
		if !isLink {
			done = append(done, c)
			continue
		}
		if hops++; hops > maxLinkHops || path.IsAbs(target) {
			return "", errEscapes
		}
		rest = append(splitPath(target), rest...)
	}
	return path.Join(done...), nil
}

// linkAt reports whether p is a link once the outputs are written: the
// outputs' own entry wins, else what is already on disk.
func (r *linkResolver) linkAt(p string) (string, bool) {
	if target, ok := r.links[p]; ok {
		return target, target != ""
	}
	if r.root == nil {
		return "", false
	}
	st, err := r.root.Lstat(filepath.FromSlash(p))
	if err != nil || st.Mode()&fs.ModeSymlink == 0 {
		return "", false
	}
	target, err := r.root.Readlink(filepath.FromSlash(p))
	if err != nil {
		return "/", true // unreadable: treat as escaping
	}
	return filepath.ToSlash(target), true
}

func splitPath(p string) []string {
	return strings.Split(p, "/")
}
