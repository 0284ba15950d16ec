package gitinfo

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// git runs git in dir with a fixed identity and no user or system config.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// newRepo creates a repository with one commit on branch main.
func newRepo(t *testing.T) (dir, commit string) {
	t.Helper()
	dir = t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	testutil.WriteTree(t, dir, testutil.Tree{"train.py": "print(1)\n", "sub/a.txt": "a\n", ".gitignore": "*.ckpt\n"})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "init")
	return dir, git(t, dir, "rev-parse", "HEAD")
}

func capture(t *testing.T, dir string) *Info {
	t.Helper()
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	info, err := Capture(t.Context(), dir, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	return info
}

func realPath(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCapture(t *testing.T) {
	testutil.RequireCommand(t, "git")
	tests := []struct {
		name  string
		setup func(t *testing.T, dir, commit string) string // returns the dir to capture
		want  func(dir, commit string) Info
	}{
		{
			name:  "clean",
			setup: func(t *testing.T, dir, _ string) string { return dir },
			want:  func(dir, c string) Info { return Info{Branch: "main", Commit: c, Root: dir} },
		},
		{
			name: "ignored file is not dirty",
			setup: func(t *testing.T, dir, _ string) string {
				testutil.WriteTree(t, dir, testutil.Tree{"model.ckpt": "x"})
				return dir
			},
			want: func(dir, c string) Info { return Info{Branch: "main", Commit: c, Root: dir} },
		},
		{
			name: "modified file",
			setup: func(t *testing.T, dir, _ string) string {
				testutil.WriteTree(t, dir, testutil.Tree{"train.py": "print(2)\n"})
				return dir
			},
			want: func(dir, c string) Info { return Info{Branch: "main", Commit: c, Root: dir, Dirty: true} },
		},
		{
			name: "untracked file",
			setup: func(t *testing.T, dir, _ string) string {
				testutil.WriteTree(t, dir, testutil.Tree{"new.py": "x"})
				return dir
			},
			want: func(dir, c string) Info { return Info{Branch: "main", Commit: c, Root: dir, Dirty: true} },
		},
		{
			name: "staged rename",
			setup: func(t *testing.T, dir, _ string) string {
				git(t, dir, "mv", "train.py", "main.py")
				return dir
			},
			want: func(dir, c string) Info { return Info{Branch: "main", Commit: c, Root: dir, Dirty: true} },
		},
		{
			name: "subdirectory, change outside it is not dirty",
			setup: func(t *testing.T, dir, _ string) string {
				testutil.WriteTree(t, dir, testutil.Tree{"train.py": "print(2)\n"})
				return filepath.Join(dir, "sub")
			},
			want: func(dir, c string) Info { return Info{Branch: "main", Commit: c, Root: dir} },
		},
		{
			name: "detached head",
			setup: func(t *testing.T, dir, c string) string {
				git(t, dir, "checkout", "-q", "--detach", c)
				return dir
			},
			want: func(dir, c string) Info { return Info{Commit: c, Root: dir} },
		},
		{
			name: "remote with credentials",
			setup: func(t *testing.T, dir, _ string) string {
				git(t, dir, "remote", "add", "origin", "https://alice:ghp_s3cret@github.com/org/repo.git")
				return dir
			},
			want: func(dir, c string) Info {
				return Info{Repository: "https://github.com/org/repo.git", Branch: "main", Commit: c, Root: dir}
			},
		},
		{
			name: "scp-like remote",
			setup: func(t *testing.T, dir, _ string) string {
				git(t, dir, "remote", "add", "origin", "git@github.com:org/repo.git")
				return dir
			},
			want: func(dir, c string) Info {
				return Info{Repository: "git@github.com:org/repo.git", Branch: "main", Commit: c, Root: dir}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, commit := newRepo(t)
			target := tt.setup(t, dir, commit)
			got := capture(t, target)
			if got == nil {
				t.Fatal("Capture returned nil for a repository")
			}
			want := tt.want(realPath(t, dir), commit)
			got.Root = realPath(t, got.Root)
			if *got != want {
				t.Errorf("Capture = %+v, want %+v", *got, want)
			}
		})
	}
}

func TestCaptureNoCommits(t *testing.T) {
	testutil.RequireCommand(t, "git")
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "dev")
	got := capture(t, dir)
	if got == nil || got.Commit != "" || got.Branch != "dev" || got.Dirty {
		t.Fatalf("Capture = %+v, want branch dev, no commit, clean", got)
	}
}

func TestCaptureNotRepo(t *testing.T) {
	testutil.RequireCommand(t, "git")
	dir := t.TempDir()
	t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(dir))
	if got := capture(t, dir); got != nil {
		t.Fatalf("Capture outside a repository = %+v, want nil", got)
	}
}

func TestCaptureNoGit(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	got, err := Capture(t.Context(), t.TempDir(), hclog.NewNullLogger())
	if got != nil || err != nil {
		t.Fatalf("Capture without git = %+v, %v; want nil, nil", got, err)
	}
}

func TestCaptureMissingDir(t *testing.T) {
	testutil.RequireCommand(t, "git")
	_, err := Capture(t.Context(), filepath.Join(t.TempDir(), "nope"), hclog.NewNullLogger())
	if err == nil {
		t.Fatal("Capture of a missing directory: want an error")
	}
}

func BenchmarkCapture(b *testing.B) {
	testutil.RequireCommand(b, "git")
	dir := b.TempDir()
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "--allow-empty", "-m", "x"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	for b.Loop() {
		if info, err := Capture(b.Context(), dir, nil); err != nil || info == nil {
			b.Fatalf("Capture = %v, %v", info, err)
		}
	}
}
