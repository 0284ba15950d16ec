package conda

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Spec is a parsed conda environment file (environment.yml, or Azure ML's
// conda_dependencies.yml). Lists keep the order and spelling of the file;
// Normalized and Key give the canonical form.
type Spec struct {
	// Name is the environment's name. It never affects the cache key: ferry
	// builds into a prefix named by the key.
	Name string
	// Channels in file order; order is channel priority.
	Channels []string
	// Conda holds the conda match specs of "dependencies", trimmed.
	Conda []string
	// Pip holds the entries of every "- pip:" list in "dependencies",
	// trimmed, including option lines such as "-r requirements.txt".
	Pip []string
	// PipRequirements holds the content of each requirement or constraint
	// file named by a -r/-c line in Pip (and, recursively, in those files),
	// keyed by its path relative to the spec's directory, slash-separated,
	// as ParseSpec read it. Remote (URL) files are not read.
	PipRequirements map[string][]byte
	// PipLocal holds a digest of the content of each local path the pip
	// section installs from (LocalRefs), by its path relative to the
	// spec's folder; HashLocal fills it. Nil until then.
	PipLocal map[string]string
	// Python is the version part of the python dependency, if any: "3.10"
	// for python=3.10, "==3.10.4" for python==3.10.4, ">=3.8,<3.12" for
	// python>=3.8,<3.12; a build string is dropped.
	Python string
	// Variables holds "variables:", environment variables conda sets on
	// activation. The executor sets them itself, since it runs the prefix's
	// interpreter without activating it.
	Variables map[string]string
	// Prefix is "prefix:" as written; ferry ignores it (it builds into its
	// own cache) and callers should say so.
	Prefix string
	// Unknown lists top-level keys conda does not define, in file order,
	// for a warning. They do not affect the cache key.
	Unknown []string
}

// ParseSpec parses a conda environment file. baseDir is the directory the
// file lives in: pip "-r file" and "-c file" lines name files relative to
// it, and ParseSpec reads them with readFile (os.ReadFile when nil) so that
// their content counts in the cache key. readFile receives
// filepath.Join(baseDir, name) and may confine reads to a snapshot.
//
// Malformed YAML is a wrapped *SyntaxError; a field of the wrong shape is a
// *ParseError. Both carry a line number.
func ParseSpec(data []byte, baseDir string, readFile func(name string) ([]byte, error)) (*Spec, error) {
	root, err := parseDocument(data)
	if err != nil {
		return nil, err
	}
	kv, err := pairs(root)
	if err != nil {
		return nil, err
	}
	s := &Spec{}
	for _, p := range kv {
		if err := s.setField(p[0], p[1]); err != nil {
			return nil, err
		}
	}
	s.Python = pythonPin(s.Conda)
	if readFile == nil {
		readFile = os.ReadFile
	}
	s.PipRequirements, err = readRequirements(s.Pip, baseDir, readFile)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Warnings returns one line for each part of the file ferry ignores: the
// prefix and any unknown top-level keys.
func (s *Spec) Warnings() []string {
	var out []string
	if s.Prefix != "" {
		out = append(out, fmt.Sprintf("prefix %q ignored: ferry builds the environment in its own cache", s.Prefix))
	}
	for k := range s.Variables {
		if reservedVariable(k) {
			out = append(out, fmt.Sprintf("variables: %s is reserved and ignored, as conda does (activation puts the environment's bin first on PATH)", k))
		}
	}
	for _, k := range s.Unknown {
		out = append(out, fmt.Sprintf("unknown key %q ignored", k))
	}
	return out
}

// setField stores one top-level key of the file.
func (s *Spec) setField(k, v *yaml.Node) error {
	var err error
	switch k.Value {
	case "name":
		s.Name, err = scalarString(v, "name")
	case "channels":
		s.Channels, err = stringList(v, "channels")
	case "dependencies":
		err = s.setDependencies(v)
	case "prefix":
		s.Prefix, err = scalarString(v, "prefix")
	case "variables":
		s.Variables, err = stringMap(v, "variables")
	default:
		s.Unknown = append(s.Unknown, k.Value)
	}
	return err
}

// setDependencies reads "dependencies": strings are conda specs, and a
// mapping {pip: [...]} adds pip entries. conda knows no other installer
// section, so any other key is an error rather than a silent drop.
func (s *Spec) setDependencies(n *yaml.Node) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return &ParseError{Line: n.Line, Msg: "dependencies must be a list, got " + describe(n)}
	}
	for _, c := range n.Content {
		c = resolve(c)
		switch {
		case c.Kind == yaml.ScalarNode && !isNull(c) && strings.TrimSpace(c.Value) != "":
			s.Conda = append(s.Conda, strings.TrimSpace(c.Value))
		case c.Kind == yaml.MappingNode:
			if err := s.setInstallers(c); err != nil {
				return err
			}
		default:
			return &ParseError{Line: c.Line, Msg: "dependencies entries must be strings or a pip: list, got " + describe(c)}
		}
	}
	return nil
}

// setInstallers reads a mapping entry of "dependencies".
func (s *Spec) setInstallers(m *yaml.Node) error {
	kv, err := pairs(m)
	if err != nil {
		return err
	}
	for _, p := range kv {
		if sel, ok := selector(p[0].Value); ok {
			if err := s.addSelected(sel, p[1]); err != nil {
				return err
			}
			continue
		}
		if p[0].Value != "pip" {
			return &ParseError{Line: p[0].Line, Msg: fmt.Sprintf("dependencies: unknown installer %q (only pip is supported)", p[0].Value)}
		}
		pip, err := stringList(p[1], "dependencies.pip")
		if err != nil {
			return err
		}
		for _, e := range pip {
			if e != "" {
				s.Pip = append(s.Pip, e)
			}
		}
	}
	return nil
}

// selector reads micromamba's "sel(PLATFORM)" key (a "- sel(linux): pkg"
// entry of dependencies, which YAML reads as a one-key mapping).
func selector(key string) (string, bool) {
	inner, ok := strings.CutPrefix(strings.TrimSpace(key), "sel(")
	if !ok || !strings.HasSuffix(inner, ")") {
		return "", false
	}
	return strings.TrimSpace(strings.TrimSuffix(inner, ")")), true
}

// addSelected adds a selector's package when the platform is one ferry's
// targets match: they are Linux, so "linux" and "unix" hold and "win" and
// "osx" do not, as micromamba decides on Linux (install.cpp).
func (s *Spec) addSelected(platform string, v *yaml.Node) error {
	dep, err := scalarString(v, "dependencies.sel("+platform+")")
	if err != nil {
		return err
	}
	switch platform {
	case "linux", "unix":
		if dep = strings.TrimSpace(dep); dep != "" {
			s.Conda = append(s.Conda, dep)
		}
	case "win", "osx":
	default:
		return &ParseError{Line: v.Line, Msg: fmt.Sprintf("dependencies: unknown selector sel(%s) (micromamba knows linux, osx, win, unix)", platform)}
	}
	return nil
}

// pythonPin returns the version part of the first python spec in deps.
func pythonPin(deps []string) string {
	for _, d := range deps {
		_, name, ver := splitConda(normalizeConda(d))
		if name != "python" {
			continue
		}
		switch {
		case strings.HasPrefix(ver, "=="):
			v, _, _ := strings.Cut(ver[2:], "=")
			return "==" + v
		case strings.HasPrefix(ver, "="):
			v, _, _ := strings.Cut(ver[1:], "=")
			return v
		default:
			v, _, _ := strings.Cut(ver, " ")
			return v
		}
	}
	return ""
}
