package gitinfo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// Info describes the git state of a run's source directory.
type Info struct {
	// Repository is remote.origin.url with any credentials removed; empty
	// when the repository has no origin remote.
	Repository string `json:"repository"`
	// Branch is the checked-out branch; empty on a detached HEAD.
	Branch string `json:"branch"`
	// Commit is the full hash of HEAD; empty before the first commit.
	Commit string `json:"commit"`
	// Dirty reports modified, staged, deleted or untracked (not ignored)
	// files under the captured directory. Changes elsewhere in the
	// repository do not count, because they are not part of the snapshot.
	Dirty bool `json:"dirty"`
	// Root is the repository's top-level directory.
	Root string `json:"root"`
}

// errNotRepo marks a directory that is not inside a work tree.
var errNotRepo = errors.New("not a git work tree")

// Capture returns the git state of dir. It returns nil, nil when dir is not
// inside a git work tree or when git is not installed (logged at debug
// level), so that callers can record a run either way.
func Capture(ctx context.Context, dir string, logger hclog.Logger) (*Info, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	gitPath, err := exec.LookPath("git")
	if err != nil {
		logger.Debug("git not found, run recorded without git info", "error", err)
		return nil, nil
	}
	g := runner{path: gitPath, dir: dir}
	info, err := g.capture(ctx)
	if errors.Is(err, errNotRepo) {
		logger.Debug("source is not in a git work tree", "dir", dir)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return info, nil
}

// runner runs git in one directory.
type runner struct {
	path string
	dir  string
}

// capture gathers Info with three git invocations run side by side:
// rev-parse (root), status (branch, commit, dirtiness) and config (origin
// URL). No single git command reports all of them; run one after the other
// they take about three times as long.
func (g runner) capture(ctx context.Context) (*Info, error) {
	var (
		wg                 sync.WaitGroup
		root, status       []byte
		origin             string
		rootErr, statusErr error
		originErr          error
	)
	wg.Go(func() { root, rootErr = g.output(ctx, "rev-parse", "--show-toplevel") })
	wg.Go(func() {
		status, statusErr = g.output(ctx, "status", "--porcelain=v2", "--branch", "-z",
			"--untracked-files=normal", "--", ".")
	})
	wg.Go(func() { origin, originErr = g.origin(ctx) })
	wg.Wait()
	if err := errors.Join(rootErr, statusErr, originErr); err != nil {
		if errors.Is(err, errNotRepo) {
			return nil, errNotRepo
		}
		return nil, err
	}
	info := &Info{
		Root:       strings.TrimRight(string(root), "\n"),
		Repository: StripCredentials(origin),
	}
	parseStatus(status, info)
	return info, nil
}

// origin returns remote.origin.url, or "" when it is not set.
func (g runner) origin(ctx context.Context) (string, error) {
	out, err := g.output(ctx, "config", "--get", "remote.origin.url")
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() == 1 {
		return "", nil // key not set
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// output runs git with args and returns its stdout. Exit status 128 with
// "not a git repository" becomes errNotRepo.
func (g runner) output(ctx context.Context, args ...string) ([]byte, error) {
	full := append([]string{"-C", g.dir, "-c", "core.quotePath=false"}, args...)
	cmd := exec.CommandContext(ctx, g.path, full...)
	cmd.Env = append(cmd.Environ(), "GIT_OPTIONAL_LOCKS=0", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil {
		return out, nil
	}
	msg := strings.TrimSpace(stderr.String())
	if strings.Contains(msg, "not a git repository") ||
		strings.Contains(msg, "must be run in a work tree") {
		return nil, errNotRepo
	}
	if msg != "" {
		return nil, fmt.Errorf("git %s: %w (%s)", args[0], err, tail(msg))
	}
	return nil, fmt.Errorf("git %s: %w", args[0], err)
}

// parseStatus fills Branch, Commit and Dirty from the output of
// "git status --porcelain=v2 --branch -z".
func parseStatus(out []byte, info *Info) {
	for rec := range bytes.SplitSeq(out, []byte{0}) {
		line := string(rec)
		switch {
		case line == "":
		case strings.HasPrefix(line, "# branch.oid "):
			if oid := strings.TrimPrefix(line, "# branch.oid "); oid != "(initial)" {
				info.Commit = oid
			}
		case strings.HasPrefix(line, "# branch.head "):
			if head := strings.TrimPrefix(line, "# branch.head "); head != "(detached)" {
				info.Branch = head
			}
		case strings.HasPrefix(line, "#"):
		default:
			// Entries (1, 2, u, ?) and the original path that follows a
			// rename entry under -z: anything here means a change.
			info.Dirty = true
		}
	}
}

// tail caps git's stderr in an error message.
func tail(s string) string {
	const max = 512
	if len(s) > max {
		s = "..." + s[len(s)-max:]
	}
	return strings.ReplaceAll(s, "\n", "; ")
}
