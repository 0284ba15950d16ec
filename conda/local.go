package conda

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// LocalRef is a path in the project that the spec's pip section installs
// from: a wheel or sdist ("./wheels/x.whl"), a project folder ("-e .",
// "./lib"), or a --find-links folder. Path is "/"-separated and relative to
// the spec's folder, as pip sees it when conda runs it there.
type LocalRef struct {
	Path string
	// Editable is an "-e PATH" (--editable): the environment keeps
	// pointing at PATH's files after the build.
	Editable bool
}

// pathPrefixes start a pip entry that is a path rather than a name.
var pathPrefixes = []string{"./", "../", "/", "~"}

// LocalRefs returns the local paths the pip section installs from, in the
// spec's pip list and in the -r/-c files it names (sorted by path, each
// once). Paths resolve as conda's pip step resolves them, run from the
// spec's folder: requirement paths and -e against that folder, a
// --find-links folder against the file that names it (pip's req_file).
// Absolute paths and URLs are left out: they are not in the project.
func (s *Spec) LocalRefs() []LocalRef {
	refs := map[string]bool{}
	add := func(p string, editable bool) {
		if p == "" || path.IsAbs(p) || strings.HasPrefix(p, "~") || strings.Contains(p, "://") {
			return
		}
		p = path.Clean(p)
		refs[p] = refs[p] || editable
	}
	scan := func(dir string, lines []string) {
		for _, line := range lines {
			p, editable, findLinks := localEntry(line)
			if findLinks {
				add(refKey(dir, p), false)
			} else {
				add(p, editable)
			}
		}
	}
	scan(".", s.Pip)
	for name, data := range s.PipRequirements {
		scan(path.Dir(name), requirementLines(data))
	}
	out := make([]LocalRef, 0, len(refs))
	for p, e := range refs {
		out = append(out, LocalRef{Path: p, Editable: e})
	}
	slices.SortFunc(out, func(a, b LocalRef) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// Editable reports whether the pip section installs a project folder
// editable ("-e ."): the built environment then refers to those files.
func (s *Spec) Editable() bool {
	return slices.ContainsFunc(s.LocalRefs(), func(r LocalRef) bool { return r.Editable })
}

// localEntry reads one pip line: the path it installs from (and whether
// editable), or the folder of a --find-links option; "" for anything else.
func localEntry(line string) (p string, editable, findLinks bool) {
	s := strings.Join(strings.Fields(line), " ")
	for _, opt := range []string{"-e", "--editable", "-f", "--find-links"} {
		rest, ok := strings.CutPrefix(s, opt)
		if !ok || rest != "" && rest[0] != ' ' && rest[0] != '=' && strings.HasPrefix(opt, "--") {
			continue
		}
		val := strings.TrimSpace(strings.TrimPrefix(rest, "="))
		if opt == "-e" || opt == "--editable" {
			if isURLish(val) {
				return "", false, false
			}
			return stripExtras(val), true, false
		}
		return val, false, true
	}
	if strings.HasPrefix(s, "-") {
		return "", false, false
	}
	f, _, _ := strings.Cut(s, " ")
	f, _, _ = strings.Cut(f, ";")
	if archiveRE().MatchString(f) && !strings.Contains(f, "://") || hasPathPrefix(f) || f == "." || f == ".." {
		return stripExtras(f), false, false
	}
	return "", false, false
}

// isURLish reports whether an -e value is a VCS or other URL.
func isURLish(v string) bool {
	return strings.Contains(v, "://") || strings.Contains(v, "+") && strings.Contains(v, "@")
}

// hasPathPrefix reports whether f starts as a path does.
func hasPathPrefix(f string) bool {
	return slices.ContainsFunc(pathPrefixes, func(p string) bool { return strings.HasPrefix(f, p) })
}

// stripExtras drops a "[extra,...]" suffix from a path ("-e .[dev]").
func stripExtras(p string) string {
	if i := strings.IndexByte(p, '['); i > 0 && strings.HasSuffix(p, "]") {
		return p[:i]
	}
	return p
}

// LocalTree reads the project the spec's paths point into: Root holds the
// files, Dir is the spec's folder in it ("/"-separated, "." for the root),
// and Skip, when set, leaves out what the project's snapshot leaves out.
type LocalTree struct {
	Root fs.FS
	Dir  string
	Skip func(rel string, isDir bool) bool
}

// ErrOutside: a local pip path is not inside the project.
var ErrOutside = errors.New("not inside the source directory (the target sees only the snapshot)")

// HashLocal records in s.PipLocal a digest of the content of each of
// s.LocalRefs, read from t: a file's bytes, or a folder's files (names,
// modes, bytes and link targets, recursively). Normalized includes them,
// so a new wheel, or a change in a project installed with "-e .", gives a
// new key. A path outside t.Root, or missing, is an error.
func (s *Spec) HashLocal(t LocalTree) error {
	refs := s.LocalRefs()
	if len(refs) == 0 {
		return nil
	}
	s.PipLocal = make(map[string]string, len(refs))
	for _, r := range refs {
		rel := path.Join(t.Dir, r.Path)
		if !fs.ValidPath(rel) {
			return fmt.Errorf("pip path %s: %w", r.Path, ErrOutside)
		}
		sum, err := hashTree(t, rel)
		if err != nil {
			return fmt.Errorf("pip path %s: %w", r.Path, err)
		}
		s.PipLocal[r.Path] = sum
	}
	return nil
}

// hashTree digests the file or folder rel of t.
func hashTree(t LocalTree, rel string) (string, error) {
	h := sha256.New()
	n := 0
	err := WalkLocal(t, rel, func(p string, d fs.DirEntry, data []byte) error {
		n++
		fmt.Fprintf(h, "%q %v %d\n", p, d.Type(), len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", fmt.Errorf("no files (left out of the snapshot?)")
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// WalkLocal calls fn for each file and symbolic link at or under rel in
// t.Root, in lexical order, with its path relative to rel ("." for rel
// itself when a file) and its bytes (a link's target). Links are not
// followed; what t.Skip leaves out is not visited, and rel left out is an
// error.
func WalkLocal(t LocalTree, rel string, fn func(p string, d fs.DirEntry, data []byte) error) error {
	return fs.WalkDir(t.Root, rel, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return unwrapPathErr(err)
		}
		if t.Skip != nil && t.Skip(p, d.IsDir()) {
			if p == rel {
				return errors.New("left out of the snapshot by an ignore file (.gitignore, .amlignore or .ferryignore)")
			}
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		sub := strings.TrimPrefix(strings.TrimPrefix(p, rel), "/")
		if sub == "" {
			sub = "."
		}
		switch {
		case d.IsDir():
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			target, err := fs.ReadLink(t.Root, p)
			if err != nil {
				return unwrapPathErr(err)
			}
			return fn(sub, d, []byte(target))
		case d.Type().IsRegular():
			data, err := fs.ReadFile(t.Root, p)
			if err != nil {
				return unwrapPathErr(err)
			}
			return fn(sub, d, data)
		}
		return nil // FIFOs, sockets: never in a snapshot
	})
}

// unwrapPathErr drops the *fs.PathError around err, whose path is the
// FS's own.
func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// PipOnly reports whether the spec asks conda for nothing but python and
// pip, all else coming from its pip section: the form Azure ML v1 writes
// for an environment made from pip requirements
// (Environment.from_pip_requirements, CondaDependencies.create with
// pip_packages only, and its default environment). A pip virtual
// environment can stand in for it where no conda tool is.
func (s *Spec) PipOnly() bool {
	for _, d := range s.Conda {
		if _, name, _ := splitConda(normalizeConda(d)); name != "python" && name != "pip" {
			return false
		}
	}
	return true
}

// PythonMinor is the "3.8" of a python pin such as python=3.8.13 or
// python==3.8 ("" when the spec pins no exact major.minor version).
func (s *Spec) PythonMinor() string {
	v := strings.TrimPrefix(s.Python, "==")
	if v == "" || strings.ContainsAny(v, "<>!~,*|") {
		return ""
	}
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return ""
	}
	return parts[0] + "." + parts[1]
}

// WriteProject lays out dir as the build folder of req's spec (see
// writeBuildDir) and returns the spec's folder in it: for a build by
// another tool (a pip venv standing in for a PipOnly spec) that must see
// the pip section's paths where conda would.
func WriteProject(dir string, req Request, spec *Spec) (string, error) {
	return writeBuildDir(dir, req, spec)
}

// PrepareProject parses req's spec and hashes the local paths its pip
// section names (read from req.Project) into its key, as Ensure does.
func PrepareProject(req Request) (*Spec, error) {
	spec, err := ParseSent(req.Spec, req.Requirements)
	if err != nil {
		return nil, err
	}
	return spec, hashProject(spec, req.Project)
}
