package transport

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxIncludeDepth bounds Include recursion, as OpenSSH does (16).
const maxIncludeDepth = 16

// hostSettings is what an ssh_config file says about one host. Only the
// keywords ferry uses are kept; for each, the first value obtained wins.
type hostSettings struct {
	HostName           string
	User               string
	Port               string
	IdentityFiles      []string // every IdentityFile, in order
	ProxyJump          string
	UserKnownHostsFile []string
}

// sshConfigReader evaluates an ssh_config file for one host.
type sshConfigReader struct {
	host    string // the name as given (the alias), lowercased
	sshDir  string // base for relative Include paths (~/.ssh)
	out     hostSettings
	setKeys map[string]bool
}

// readSSHConfig returns the settings path gives for host. A missing file
// yields empty settings. Match blocks are not evaluated: they never apply.
func readSSHConfig(path, host, home string) (hostSettings, error) {
	r := &sshConfigReader{host: strings.ToLower(host), sshDir: filepath.Join(home, ".ssh"), setKeys: map[string]bool{}}
	err := r.readFile(path, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return hostSettings{}, nil
	}
	return r.out, err
}

func (r *sshConfigReader) readFile(path string, depth int) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("read ssh config %s: Include nested too deeply", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	active := true // lines before the first Host apply to every host
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		key, args, err := splitConfigLine(sc.Text())
		if err != nil {
			return fmt.Errorf("read ssh config %s:%d: %w", path, n, err)
		}
		if active, err = r.apply(key, args, active, depth); err != nil {
			return fmt.Errorf("read ssh config %s:%d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read ssh config %s: %w", path, err)
	}
	return nil
}

// apply handles one keyword and returns whether the following lines apply.
func (r *sshConfigReader) apply(key string, args []string, active bool, depth int) (bool, error) {
	switch key {
	case "":
		return active, nil
	case "host":
		return matchHostPatterns(r.host, args), nil
	case "match":
		return len(args) == 1 && strings.EqualFold(args[0], "all"), nil
	case "include":
		if active {
			return active, r.include(args, depth)
		}
		return active, nil
	}
	if active && len(args) > 0 {
		r.set(key, args)
	}
	return active, nil
}

func (r *sshConfigReader) include(patterns []string, depth int) error {
	for _, p := range patterns {
		p = expandTilde(p, filepath.Dir(r.sshDir))
		if !filepath.IsAbs(p) {
			p = filepath.Join(r.sshDir, p)
		}
		matches, err := filepath.Glob(p)
		if err != nil {
			return fmt.Errorf("include %s: %w", p, err)
		}
		for _, m := range matches {
			if err := r.readFile(m, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *sshConfigReader) set(key string, args []string) {
	if key == "identityfile" {
		r.out.IdentityFiles = append(r.out.IdentityFiles, args[0])
		return
	}
	if r.setKeys[key] {
		return // first obtained value wins
	}
	switch key {
	case "hostname":
		r.out.HostName = args[0]
	case "user":
		r.out.User = args[0]
	case "port":
		r.out.Port = args[0]
	case "proxyjump":
		r.out.ProxyJump = args[0]
	case "userknownhostsfile":
		r.out.UserKnownHostsFile = args
	default:
		return
	}
	r.setKeys[key] = true
}

// splitConfigLine returns the lowercased keyword and its arguments. The
// keyword may be separated by whitespace or one "="; arguments may be
// double-quoted.
func splitConfigLine(line string) (string, []string, error) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", nil, nil
	}
	end := strings.IndexAny(line, " \t=")
	if end < 0 {
		return strings.ToLower(line), nil, nil
	}
	key := strings.ToLower(line[:end])
	rest := strings.TrimLeft(line[end:], " \t")
	rest = strings.TrimLeft(strings.TrimPrefix(rest, "="), " \t")
	args, err := splitArgs(rest)
	return key, args, err
}

func splitArgs(s string) ([]string, error) {
	var args []string
	for s = strings.TrimLeft(s, " \t"); s != ""; s = strings.TrimLeft(s, " \t") {
		if s[0] == '#' {
			break // trailing comment
		}
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, errors.New("unterminated quote")
			}
			args = append(args, s[1:end+1])
			s = s[end+2:]
			continue
		}
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			end = len(s)
		}
		args = append(args, s[:end])
		s = s[end:]
	}
	return args, nil
}

// matchHostPatterns applies ssh_config Host semantics: the block applies when
// some pattern matches and no negated pattern does.
func matchHostPatterns(host string, patterns []string) bool {
	matched := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		if !wildcardMatch(strings.ToLower(strings.TrimPrefix(p, "!")), host) {
			continue
		}
		if neg {
			return false
		}
		matched = true
	}
	return matched
}

// wildcardMatch matches s against pattern with OpenSSH's '*' and '?'.
func wildcardMatch(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if wildcardMatch(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != pattern[0] {
				return false
			}
		}
		pattern, s = pattern[1:], s[1:]
	}
	return s == ""
}

// expandTilde replaces a leading "~" or "~/" with home.
func expandTilde(p, home string) string {
	if p == "~" {
		return home
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return filepath.Join(home, rest)
	}
	return p
}
