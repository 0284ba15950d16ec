package gitinfo

import "testing"

func TestStripCredentials(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://user:token@github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://ghp_TOKEN@github.com/org/repo", "https://github.com/org/repo"},
		{"https://x:p@ss:w@rd@dev.azure.com/o/p/_git/r", "https://dev.azure.com/o/p/_git/r"},
		{"http://u:p@host:8080/r.git?private_token=abc#frag", "http://host:8080/r.git"},
		{"https://u:p@host", "https://host"},
		{"ssh://git@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"},
		{"ssh://git:pw@host:2222/r.git", "ssh://git@host:2222/r.git"},
		{"git@github.com:org/repo.git", "git@github.com:org/repo.git"},
		{"/srv/git/repo.git", "/srv/git/repo.git"},
		{"../other", "../other"},
		{"file:///srv/repo.git", "file:///srv/repo.git"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := StripCredentials(tt.in); got != tt.want {
				t.Errorf("StripCredentials(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
