package conda

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// keyVersion prefixes the hashed text. Change it whenever Normalized
// changes shape, so that old cache entries are never reused by mistake.
const keyVersion = "conda-v1\n"

// operatorChars may surround a version constraint; whitespace next to them
// carries no meaning in a conda match spec or a PEP 508 requirement.
const operatorChars = "=<>!~,|"

// pipNameRE is the distribution name at the start of a PEP 508 requirement.
var pipNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*`) })

// archiveRE matches a local wheel or source archive, installed by path.
var archiveRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\.(whl|zip|tar\.gz|tgz|tar\.bz2)$`) })

// pipSeparatorRE matches the runs PEP 503 folds into one "-".
var pipSeparatorRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[-_.]+`) })

// normalDoc is the shape of Normalized: field order is fixed and yaml sorts
// map keys, so equal specs give equal bytes.
type normalDoc struct {
	Channels        []string            `yaml:"channels,omitempty"`
	Dependencies    []any               `yaml:"dependencies,omitempty"`
	Variables       map[string]string   `yaml:"variables,omitempty"`
	PipRequirements map[string][]string `yaml:"pip_requirements,omitempty"`
	PipLocal        map[string]string   `yaml:"pip_local,omitempty"`
}

// Normalized returns the canonical text of the spec, YAML shaped like an
// environment file, which Key hashes and a dry run can print:
//
//   - The name, the prefix, comments and unknown keys are left out: they do
//     not change what gets installed.
//   - Channels keep their order (duplicates after the first dropped).
//     Conda's channel priority makes order meaningful: with [conda-forge,
//     defaults] a package present in both comes from conda-forge, with
//     [defaults, conda-forge] from defaults (always so under strict
//     priority, micromamba's default; by version first under flexible).
//     Sorting would give two different environments one key and reuse the
//     wrong one; a key that is merely too specific only costs a rebuild.
//   - Conda specs are sorted and deduplicated after normalising each one:
//     package names lower-cased, whitespace around operators removed
//     ("numpy == 1.2" is "numpy==1.2"), other whitespace collapsed. The
//     solver treats the list as a set, so order carries no meaning.
//   - Pip entries likewise, with PEP 503 names ("Scikit_Learn" is
//     "scikit-learn"); pip's resolver also treats them as a set.
//   - Each -r/-c file's requirement lines (comments and blank lines
//     dropped, each normalised, sorted) appear under pip_requirements.
//   - The digest of each local path pip installs from (a wheel, "-e .",
//     a --find-links folder; see HashLocal) appears under pip_local.
//
// The text is not meant to be fed to conda: build from the user's file.
func (s *Spec) Normalized() []byte {
	doc := normalDoc{
		Channels:  dedupe(trimAll(s.Channels)),
		Variables: s.Variables,
		PipLocal:  s.PipLocal,
	}
	for _, d := range sortedSet(s.Conda, normalizeConda) {
		doc.Dependencies = append(doc.Dependencies, d)
	}
	if pip := sortedSet(s.Pip, normalizePip); len(pip) > 0 {
		doc.Dependencies = append(doc.Dependencies, map[string][]string{"pip": pip})
	}
	for name, data := range s.PipRequirements {
		if doc.PipRequirements == nil {
			doc.PipRequirements = make(map[string][]string)
		}
		doc.PipRequirements[name] = sortedSet(requirementLines(data), normalizePip)
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		// Strings, lists and maps of strings always marshal.
		panic("conda: marshal normalized spec: " + err.Error())
	}
	return out
}

// Key returns the environment's cache key: the hex SHA-256 of a version
// line followed by Normalized. Equal keys mean "reuse the built prefix".
func (s *Spec) Key() string {
	h := sha256.New()
	h.Write([]byte(keyVersion))
	h.Write(s.Normalized())
	return hex.EncodeToString(h.Sum(nil))
}

// normalizeConda returns the canonical spelling of one conda match spec
// such as "conda-forge::NumPy >= 1.2" (conda-forge::numpy>=1.2).
func normalizeConda(dep string) string {
	channel, name, ver := splitConda(dep)
	if ver == "" {
		return channel + name
	}
	if strings.ContainsRune(operatorChars+"[", rune(ver[0])) {
		return channel + name + ver
	}
	return channel + name + " " + ver
}

// splitConda splits a conda match spec into its channel prefix (with the
// "::"), its lower-cased name and its tightened version/build part.
func splitConda(dep string) (channel, name, ver string) {
	s := strings.Join(strings.Fields(dep), " ")
	if i := strings.Index(s, "::"); i >= 0 {
		channel, s = strings.TrimSpace(s[:i])+"::", strings.TrimSpace(s[i+2:])
	}
	end := strings.IndexAny(s, " "+operatorChars+"[")
	if end < 0 {
		end = len(s)
	}
	return channel, strings.ToLower(s[:end]), tighten(s[end:])
}

// tighten removes whitespace next to operator characters and collapses the
// rest: "== 1.2" is "==1.2", ">=1.2, <2" is ">=1.2,<2", and
// "1.26.4 py311h_0" (version and build) keeps its space.
func tighten(s string) string {
	fields := strings.Fields(s)
	var b strings.Builder
	for i, f := range fields {
		if i > 0 && !strings.ContainsRune(operatorChars, rune(fields[i-1][len(fields[i-1])-1])) &&
			!strings.ContainsRune(operatorChars, rune(f[0])) {
			b.WriteByte(' ')
		}
		b.WriteString(f)
	}
	return b.String()
}

// normalizePip returns the canonical spelling of one pip entry: a PEP 508
// requirement, or an option line ("-r file", "--index-url URL"), or a path
// or URL, which is only whitespace-collapsed.
func normalizePip(entry string) string {
	s := strings.Join(strings.Fields(entry), " ")
	if opt, name, ok := fileRef(s); ok {
		return opt + " " + name
	}
	name := pipNameRE().FindString(s)
	rest := s[len(name):]
	if name == "" || rest == "" && archiveRE().MatchString(s) || rest != "" && !strings.ContainsRune(" [<>=!~;@", rune(rest[0])) {
		return s
	}
	req, marker, hasMarker := strings.Cut(rest, ";")
	fields := strings.Fields(req)
	opts := slices.IndexFunc(fields, func(f string) bool { return strings.HasPrefix(f, "-") })
	if opts < 0 {
		opts = len(fields)
	}
	out := pipSeparatorRE().ReplaceAllString(strings.ToLower(name), "-") + strings.Join(fields[:opts], "")
	if opts < len(fields) {
		out += " " + strings.Join(fields[opts:], " ")
	}
	if hasMarker {
		out += "; " + strings.TrimSpace(marker)
	}
	return out
}

// sortedSet maps each entry through norm and returns the non-empty results
// sorted and deduplicated.
func sortedSet(in []string, norm func(string) string) []string {
	out := make([]string, 0, len(in))
	for _, e := range in {
		if n := norm(e); n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// trimAll trims each entry and drops empty ones.
func trimAll(in []string) []string {
	out := make([]string, 0, len(in))
	for _, e := range in {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// dedupe drops repeated entries, keeping the first of each.
func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0]
	for _, e := range in {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}
