package conda

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// fileRefRE matches pip's options that name another file: -r/--requirement
// and -c/--constraint, in the spellings "-r f", "-rf", "--requirement f" and
// "--requirement=f".
var fileRefRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(-r|-c|--requirement|--constraint)(?:=|\s+|)(\S.*)$`)
})

// commentRE is pip's own rule: "#" at line start or after whitespace.
var commentRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(^|\s+)#.*$`) })

// fileRef returns the option ("-r" or "-c") and the file name of a pip
// entry that names a requirement or constraint file.
func fileRef(entry string) (opt, name string, ok bool) {
	m := fileRefRE().FindStringSubmatch(strings.TrimSpace(entry))
	if m == nil {
		return "", "", false
	}
	opt = "-r"
	if m[1] == "-c" || m[1] == "--constraint" {
		opt = "-c"
	}
	return opt, strings.TrimSpace(m[2]), true
}

// isRemote reports whether a requirement file name is a URL, which pip
// fetches itself and ferry cannot hash.
func isRemote(name string) bool {
	return strings.Contains(name, "://")
}

// refKey is the PipRequirements key of file name referenced from a file in
// directory dir (both relative to the spec's directory, slash-separated).
func refKey(dir, name string) string {
	name = filepath.ToSlash(name)
	if path.IsAbs(name) {
		return path.Clean(name)
	}
	return path.Clean(path.Join(dir, name))
}

// readRequirements reads every file named by a -r/-c entry of pip, and the
// files those name in turn (pip resolves nested names relative to the
// including file). Each file is read once, so cycles end.
func readRequirements(pip []string, baseDir string, readFile func(string) ([]byte, error)) (map[string][]byte, error) {
	type ref struct{ dir, name string }
	var queue []ref
	for _, e := range pip {
		if _, name, ok := fileRef(e); ok {
			queue = append(queue, ref{"", name})
		}
	}
	var out map[string][]byte
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		key := refKey(r.dir, r.name)
		if _, seen := out[key]; seen || isRemote(r.name) {
			continue
		}
		data, err := readFile(requirementPath(baseDir, key))
		if err != nil {
			return nil, fmt.Errorf("read pip requirements %s: %w", r.name, err)
		}
		if out == nil {
			out = make(map[string][]byte)
		}
		out[key] = data
		for _, line := range requirementLines(data) {
			if _, name, ok := fileRef(line); ok {
				queue = append(queue, ref{path.Dir(key), name})
			}
		}
	}
	return out, nil
}

// requirementPath is the path readFile receives for key.
func requirementPath(baseDir, key string) string {
	if path.IsAbs(key) {
		return filepath.FromSlash(key)
	}
	return filepath.Join(baseDir, filepath.FromSlash(key))
}

// requirementLines returns the logical lines of a pip requirements file:
// backslash continuations joined, comments and blank lines dropped.
func requirementLines(data []byte) []string {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.ReplaceAll(text, "\\\n", "")
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(commentRE().ReplaceAllString(line, ""))
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}
