package gitinfo

import "strings"

// StripCredentials removes secrets from a git remote URL.
//
// For URLs with a scheme, the password is always removed and so is the user
// name, except for ssh:// and git+ssh:// where it is an account name
// ("git"), not a secret; with HTTP a token is often passed as the user name
// (https://TOKEN@host/...). The query and fragment are dropped too, since
// some hosts accept tokens there. scp-like addresses (git@host:org/repo)
// and local paths carry no credentials and are returned unchanged.
func StripCredentials(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	authority, path, hasPath := strings.Cut(rest, "/")
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		user, _, _ := strings.Cut(authority[:i], ":")
		host := authority[i+1:]
		if isSSH(scheme) && user != "" {
			authority = user + "@" + host
		} else {
			authority = host
		}
	}
	path, _, _ = strings.Cut(path, "?")
	path, _, _ = strings.Cut(path, "#")
	if !hasPath {
		authority, _, _ = strings.Cut(authority, "?")
		authority, _, _ = strings.Cut(authority, "#")
		return scheme + "://" + authority
	}
	return scheme + "://" + authority + "/" + path
}

// isSSH reports whether scheme is one of git's SSH transports.
func isSSH(scheme string) bool {
	switch strings.ToLower(scheme) {
	case "ssh", "git+ssh", "ssh+git":
		return true
	}
	return false
}
