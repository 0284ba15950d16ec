package pipenv

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// keyVersion prefixes the hashed text; change it when the text changes shape.
const keyVersion = "pip-v1\n"

// maxFiles bounds how many -r/-c files one requirements file may pull in.
const maxFiles = 256

// commentRE is pip's rule: "#" at line start or after whitespace.
var commentRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(^|\s+)#.*$`) })

// archiveRE matches a wheel or source archive named by path.
var archiveRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\.(whl|zip|tar\.gz|tgz|tar\.bz2)$`) })

// Requirements is a parsed requirements file and everything it pulls in.
type Requirements struct {
	// File is the top file's path relative to the root, "/"-separated.
	File string
	// Lines holds each file's logical lines (comments dropped), by path.
	Lines map[string][]string
	// Local holds the SHA-256 of each local archive and of each file in
	// each --find-links folder the files name, by "/"-separated path
	// relative to the root.
	Local map[string]string
	// Index says where packages come from: the --index-url,
	// --extra-index-url, --find-links and --no-index lines, in file order.
	Index []string
	// Editable lists the local folders installed editable ("-e ."), by
	// "/"-separated path relative to the root: the venv refers to their
	// files after the build, so Build must see a copy that lasts.
	Editable []string
	// skip, when set, leaves out of Local what the snapshot leaves out.
	skip func(rel string, isDir bool) bool
}

// Parse reads requirements file (a "/"-separated path relative to root)
// and the files it names, confined to root. A file or archive outside
// root, or missing, is an error: the target would not see it either.
func Parse(root, file string) (*Requirements, error) {
	return ParseSkipping(root, file, nil)
}

// ParseSkipping is Parse with the files under a local folder that skip
// reports (those the snapshot leaves out, on the agent) not hashed.
func ParseSkipping(root, file string, skip func(rel string, isDir bool) bool) (*Requirements, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("open source directory: %w", err)
	}
	defer r.Close()
	file = path.Clean(strings.TrimPrefix(file, "./"))
	if !fs.ValidPath(file) {
		return nil, fmt.Errorf("requirements file %s: not inside the source directory", file)
	}
	req := &Requirements{File: file, Lines: map[string][]string{}, Local: map[string]string{}, skip: skip}
	queue := []string{file}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if _, seen := req.Lines[name]; seen {
			continue
		}
		if len(req.Lines) == maxFiles {
			return nil, fmt.Errorf("requirements file %s: more than %d nested files", file, maxFiles)
		}
		more, err := req.readFile(r, name)
		if err != nil {
			return nil, err
		}
		queue = append(queue, more...)
	}
	return req, nil
}

// readFile reads one file's lines, hashes what they name, and returns the
// -r/-c files they name.
func (q *Requirements) readFile(r *os.Root, name string) ([]string, error) {
	data, err := r.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read requirements %s: %w", name, unwrapPath(err))
	}
	lines := logicalLines(data)
	q.Lines[name] = lines
	dir := path.Dir(name)
	var nested []string
	for _, line := range lines {
		opt, val := splitOption(line)
		switch opt {
		case "-r", "--requirement", "-c", "--constraint":
			if strings.Contains(val, "://") {
				continue // pip fetches it; it cannot be hashed here
			}
			nested = append(nested, localPath(dir, val))
		case "-f", "--find-links":
			q.Index = append(q.Index, line)
			if !strings.Contains(val, "://") {
				if err := q.hashDir(r, localPath(dir, val)); err != nil {
					return nil, err
				}
			}
		case "-i", "--index-url", "--extra-index-url", "--no-index":
			q.Index = append(q.Index, line)
		case "-e", "--editable":
			if p := editablePath(val); p != "" {
				p = localPath(path.Dir(q.File), p)
				if err := q.hashTree(r, p); err != nil {
					return nil, err
				}
				q.Editable = append(q.Editable, p)
			}
		case "":
			if p := archivePath(line); p != "" {
				if err := q.hashFile(r, localPath(path.Dir(q.File), p)); err != nil {
					return nil, err
				}
			} else if p := folderPath(line); p != "" {
				if err := q.hashTree(r, localPath(path.Dir(q.File), p)); err != nil {
					return nil, err
				}
			}
		}
	}
	return nested, nil
}

// hashFile records the SHA-256 of file name.
func (q *Requirements) hashFile(r *os.Root, name string) error {
	if !fs.ValidPath(name) {
		return fmt.Errorf("requirements: %s is outside the source directory", name)
	}
	data, err := r.ReadFile(name)
	if err != nil {
		return fmt.Errorf("requirements: local package %s: %w", name, unwrapPath(err))
	}
	sum := sha256.Sum256(data)
	q.Local[name] = hex.EncodeToString(sum[:])
	return nil
}

// hashDir records every regular file of a --find-links folder.
func (q *Requirements) hashDir(r *os.Root, dir string) error {
	if !fs.ValidPath(dir) {
		return fmt.Errorf("requirements: --find-links %s is outside the source directory", dir)
	}
	ents, err := fs.ReadDir(r.FS(), dir)
	if err != nil {
		return fmt.Errorf("requirements: --find-links %s: %w", dir, unwrapPath(err))
	}
	for _, e := range ents {
		if e.Type().IsRegular() {
			if err := q.hashFile(r, path.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// hashTree records one SHA-256 over the files of folder (or file) name,
// recursively (names, modes, bytes, link targets; links not followed),
// leaving out what q.skip reports. pip resolves such paths ("-e .",
// "./lib") against its working directory, the top file's folder.
func (q *Requirements) hashTree(r *os.Root, name string) error {
	if !fs.ValidPath(name) {
		return fmt.Errorf("requirements: %s is outside the source directory", name)
	}
	h := sha256.New()
	err := fs.WalkDir(r.FS(), name, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return unwrapPath(err)
		}
		if q.skip != nil && p != name && q.skip(p, d.IsDir()) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		var data []byte
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := fs.ReadLink(r.FS(), p)
			if err != nil {
				return unwrapPath(err)
			}
			data = []byte(target)
		case d.Type().IsRegular():
			if data, err = r.ReadFile(p); err != nil {
				return unwrapPath(err)
			}
		default:
			return nil
		}
		fmt.Fprintf(h, "%q %v %d\n", p, d.Type(), len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return fmt.Errorf("requirements: local package %s: %w", name, err)
	}
	q.Local[name] = hex.EncodeToString(h.Sum(nil))
	return nil
}

// Key returns the environment's cache key for an interpreter whose
// version is pythonVersion ("" in a plan, before the target is asked).
func (q *Requirements) Key(pythonVersion string) string {
	h := sha256.New()
	h.Write([]byte(keyVersion))
	h.Write(q.Normalized())
	fmt.Fprintf(h, "python %s\n", strings.TrimSpace(pythonVersion))
	return hex.EncodeToString(h.Sum(nil))
}

// Normalized is the canonical text the key hashes: per file (sorted by
// path) its lines, sorted and deduplicated, with PEP 503 names lower-cased;
// then the local files' hashes.
func (q *Requirements) Normalized() []byte {
	var b strings.Builder
	names := make([]string, 0, len(q.Lines))
	for n := range q.Lines {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(&b, "file %s\n", relTo(q.File, n))
		lines := make([]string, 0, len(q.Lines[n]))
		for _, l := range q.Lines[n] {
			lines = append(lines, normalizeLine(l))
		}
		slices.Sort(lines)
		for _, l := range slices.Compact(lines) {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	local := make([]string, 0, len(q.Local))
	for n := range q.Local {
		local = append(local, n)
	}
	slices.Sort(local)
	for _, n := range local {
		fmt.Fprintf(&b, "local %s %s\n", relTo(q.File, n), q.Local[n])
	}
	return []byte(b.String())
}

// relTo names p relative to the top file's folder, so that moving the
// project (or the file with its folder) keeps the key.
func relTo(top, p string) string {
	dir := path.Dir(top)
	if dir == "." {
		return p
	}
	if rel, ok := strings.CutPrefix(p, dir+"/"); ok {
		return rel
	}
	return "/" + p
}

// logicalLines returns a requirements file's lines as pip reads them:
// backslash continuations joined, comments and blank lines dropped.
func logicalLines(data []byte) []string {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.ReplaceAll(text, "\\\n", "")
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(commentRE().ReplaceAllString(line, ""))
		if line != "" {
			out = append(out, strings.Join(strings.Fields(line), " "))
		}
	}
	return out
}

// splitOption splits an option line ("-r x", "-rx", "--find-links=x")
// into its option and value; a requirement line gives "".
func splitOption(line string) (opt, val string) {
	if !strings.HasPrefix(line, "-") {
		return "", ""
	}
	if strings.HasPrefix(line, "--") {
		opt, val, _ = strings.Cut(line, "=")
		if o, v, ok := strings.Cut(opt, " "); ok {
			opt, val = o, v
		}
		return opt, strings.TrimSpace(val)
	}
	if len(line) > 2 {
		return line[:2], strings.TrimSpace(line[2:])
	}
	return line, ""
}

// archivePath is the path of a requirement line naming a local archive
// ("./wheels/x-1.0-py3-none-any.whl", "dist/x.tar.gz"), or "".
func archivePath(line string) string {
	f := strings.Fields(line)[0]
	if strings.Contains(f, "://") || !archiveRE().MatchString(f) {
		return ""
	}
	return f
}

// editablePath is the local folder of an -e value ("." or "./lib[dev]"),
// or "" for a VCS or other URL.
func editablePath(val string) string {
	if val == "" || strings.Contains(val, "://") || strings.Contains(val, "+") && strings.Contains(val, "@") {
		return ""
	}
	return stripExtras(val)
}

// folderPath is the path of a requirement line naming a local folder or
// file by path ("./lib", "../pkg", "."), or "".
func folderPath(line string) string {
	f := strings.Fields(line)[0]
	if f == "." || f == ".." || strings.HasPrefix(f, "./") || strings.HasPrefix(f, "../") {
		return stripExtras(f)
	}
	return ""
}

// stripExtras drops a "[extra,...]" suffix from a path.
func stripExtras(p string) string {
	if i := strings.IndexByte(p, '['); i > 0 && strings.HasSuffix(p, "]") {
		return p[:i]
	}
	return p
}

// localPath resolves name against the "/"-separated folder dir.
func localPath(dir, name string) string {
	if path.IsAbs(name) {
		return name // fs.ValidPath rejects it later
	}
	return path.Join(dir, name)
}

// normalizeLine lower-cases a requirement's name and folds _ and . to -,
// as PEP 503 does; option lines and paths stay as they are.
func normalizeLine(line string) string {
	if strings.HasPrefix(line, "-") || archivePath(line) != "" || strings.Contains(line, "/") {
		return line
	}
	end := strings.IndexFunc(line, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	})
	if end < 0 {
		end = len(line)
	}
	name := strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(line[:end]))
	return name + strings.ReplaceAll(line[end:], " ", "")
}

// unwrapPath drops the *fs.PathError wrapper, whose path is the root's.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
