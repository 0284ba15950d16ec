package conda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/internal/fsutil"
	"github.com/ferry-ml/ferry/internal/tailbuf"
)

// Tools lists the tools FindTool looks for on PATH, in order of preference.
var Tools = []string{"micromamba", "mamba", "conda"}

// ErrNoTool: the target has none of the conda tools.
var ErrNoTool = errors.New("no conda tool (micromamba, mamba or conda) on the target's PATH: install micromamba, a single static binary " +
	"(https://mamba.readthedocs.io/en/latest/installation/micromamba-installation.html), or conda; or run without conda: " +
	"--python PATH (an interpreter as it is; a runconfig's userManagedDependencies: true) or --requirements requirements.txt (a pip venv)")

// Request asks Ensure for the environment of a spec.
type Request struct {
	// Spec is the environment file's content as the user wrote it.
	Spec []byte
	// Requirements are the pip -r/-c files it names (Spec.PipRequirements).
	Requirements map[string][]byte
	// Project is where the pip section's local paths (LocalRefs: wheels,
	// "-e .", --find-links folders) are read from: the run's materialised
	// snapshot, with Dir the spec's folder in it. Root is nil when the
	// spec's folder is not part of the snapshot; a spec naming local
	// paths is then refused.
	Project LocalTree
	// Tool overrides the tool: a name looked up on PATH or a path; "" means
	// the first of Tools found on PATH.
	Tool string
	// Output receives progress lines and the tool's stdout and stderr.
	Output io.Writer
}

// Env is a ready environment.
type Env struct {
	Key    string
	Prefix string
	// Spec is the parsed spec (for its Variables).
	Spec *Spec
	// Built is true when this call built the prefix, false on reuse.
	Built bool
}

// BuildError is a build that failed; Tail is the end of the tool's output.
type BuildError struct {
	Key  string
	Tool string
	Err  error
	Tail string
}

func (e *BuildError) Error() string {
	msg := fmt.Sprintf("build conda environment %s with %s: %v", short(e.Key), filepath.Base(e.Tool), e.Err)
	if hint := tosHint(e.Tail); hint != "" {
		msg += " (" + hint + ")"
	}
	// The tail follows on its own lines: the run's log shows the tool's
	// output once, and only the first line is repeated there.
	return msg + "\n" + e.Tail
}

func (e *BuildError) Unwrap() error { return e.Err }

// TermsOfServiceHint is tosHint for a build's output seen elsewhere (a
// docker image's conda layer): how to fix the refusal, or "".
func TermsOfServiceHint(output string) string { return tosHint(output) }

// tosHint says how to get past the defaults channels' Terms of Service
// refusal (recent conda refuses a non-interactive build on Anaconda's
// channels until their terms are accepted), or "" for any other failure.
func tosHint(tail string) string {
	if !strings.Contains(tail, "CondaToSNonInteractiveError") && !strings.Contains(tail, "Terms of Service have not been accepted") {
		return ""
	}
	return "the defaults channels refuse to serve before their Terms of Service are accepted: add 'nodefaults' to the spec's channels " +
		"(with conda-forge), or accept them on the target once: conda tos accept --override-channels --channel https://repo.anaconda.com/pkgs/main " +
		"--channel https://repo.anaconda.com/pkgs/r"
}

// FindTool returns the absolute path of the tool that builds prefixes:
// override when set (a name on PATH or a path), else the first of Tools on
// PATH, else ErrNoTool.
func FindTool(override string) (string, error) {
	if override != "" {
		p, err := exec.LookPath(override)
		if err != nil {
			return "", fmt.Errorf("conda tool %q: %w", override, err)
		}
		return filepath.Abs(p)
	}
	for _, t := range Tools {
		if p, err := exec.LookPath(t); err == nil {
			return filepath.Abs(p)
		}
	}
	return "", ErrNoTool
}

// Ensure returns the environment of req.Spec: the existing prefix when one
// is complete (no package manager is called), else one built now, once
// even when several callers or processes race. An incomplete prefix (a
// crashed or failed build) is removed and rebuilt, never used.
func (c *Cache) Ensure(ctx context.Context, req Request) (*Env, error) {
	spec, err := PrepareProject(req)
	if err != nil {
		return nil, err
	}
	out := req.Output
	if out == nil {
		out = io.Discard
	}
	env := &Env{Key: spec.Key(), Spec: spec}
	env.Prefix = c.Prefix(env.Key)
	l, err := fsutil.Lock(ctx, c.lockPath(env.Key), func() {
		fmt.Fprintf(out, "ferry: conda environment %s is being built by another run; waiting\n", short(env.Key))
	})
	if err != nil {
		return nil, fmt.Errorf("lock conda environment %s: %w", short(env.Key), err)
	}
	defer l.Unlock()
	if _, err := c.entry(env.Key); err == nil {
		fmt.Fprintf(out, "ferry: using conda environment %s (cached)\n", short(env.Key))
		return env, touch(env.Prefix)
	}
	env.Built = true
	return env, c.build(ctx, env.Key, req, spec, out)
}

// hashProject hashes the local paths spec's pip section installs from into
// its key (HashLocal), read from project.
func hashProject(spec *Spec, project LocalTree) error {
	refs := spec.LocalRefs()
	if len(refs) == 0 {
		return nil
	}
	if project.Root == nil {
		return fmt.Errorf("conda spec: pip installs from %s, a path relative to the spec, but the spec's folder is not in the run's snapshot", refs[0].Path)
	}
	return spec.HashLocal(project)
}

// build creates the prefix of key. The caller holds the key's lock.
func (c *Cache) build(ctx context.Context, key string, req Request, spec *Spec, out io.Writer) error {
	tool, err := FindTool(req.Tool)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "ferry: building conda environment %s with %s\n", short(key), filepath.Base(tool))
	start := time.Now()
	if err := c.discard(key); err != nil { // an incomplete prefix
		return err
	}
	// An editable install ("-e .") keeps referring to the copy of the
	// project it was built from, so that copy lives as long as the prefix.
	buildDir := filepath.Join(c.dir, key+buildSuffix)
	if spec.Editable() {
		buildDir = c.sourcePath(key)
	} else {
		defer os.RemoveAll(buildDir)
	}
	specDir, err := writeBuildDir(buildDir, req, spec)
	if err != nil {
		return errors.Join(err, c.discard(key))
	}
	prefix := c.Prefix(key)
	if err := c.run(ctx, tool, prefix, specDir, out); err != nil {
		err = errors.Join(err, c.discard(key))
		return &BuildError{Key: key, Tool: tool, Err: err, Tail: tailOf(err)}
	}
	if err := markComplete(prefix, key, tool); err != nil {
		return errors.Join(err, c.discard(key))
	}
	c.log.Info("built conda environment", "key", short(key), "tool", tool, "elapsed", time.Since(start))
	fmt.Fprintf(out, "ferry: conda environment %s built in %s\n", short(key), time.Since(start).Round(time.Millisecond))
	return nil
}

// runError carries the tool's output tail up to build.
type runError struct {
	err  error
	tail string
}

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

func tailOf(err error) string {
	var re *runError
	if errors.As(err, &re) {
		return re.tail
	}
	return ""
}

// run runs the tool's build command in buildDir with stdin closed and its
// output copied to out.
func (c *Cache) run(ctx context.Context, tool, prefix, buildDir string, out io.Writer) error {
	argv := BuildCommand(tool, prefix, SpecFileName)
	if argv == nil {
		return fmt.Errorf("conda tool %s: not micromamba, mamba or conda", tool)
	}
	tail := tailbuf.New(maxTail)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = buildDir
	cmd.Env = append(os.Environ(), BuildEnviron()...)
	w := io.MultiWriter(out, tail)
	cmd.Stdout, cmd.Stderr = w, w
	setProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return &runError{err: err, tail: tail.String()}
	}
	return nil
}

// writeBuildDir lays out dir as the project looks from the spec's folder,
// which it returns: the spec as SpecFileName, the pip -r/-c files at their
// paths relative to it, and a copy of each local path the pip section
// installs from (LocalRefs). The tool runs there, and runs pip there as it
// does in the user's project, so "./wheels/x.whl", "-e ." and
// "--find-links ./wheels" find what they name. Files that lie outside the
// project, or above the spec when its place in the project is unknown,
// are left for pip to find on the target.
func writeBuildDir(dir string, req Request, spec *Spec) (string, error) {
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("clear build directory: %w", err)
	}
	rel := "."
	if req.Project.Root != nil {
		rel = path.Clean(req.Project.Dir)
	}
	specDir := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(specDir, 0o700); err != nil {
		return "", fmt.Errorf("create build directory: %w", err)
	}
	for name, data := range req.Requirements {
		if p := path.Join(rel, name); fs.ValidPath(p) {
			if err := writeBuildFile(dir, p, data, 0o600); err != nil {
				return "", fmt.Errorf("write requirements %s: %w", name, err)
			}
		}
	}
	for _, r := range spec.LocalRefs() {
		if err := copyLocal(dir, req.Project, path.Join(rel, r.Path)); err != nil {
			return "", fmt.Errorf("copy pip path %s: %w", r.Path, err)
		}
	}
	// Last: the spec wins over a project file of the same name.
	if err := os.WriteFile(filepath.Join(specDir, SpecFileName), req.Spec, 0o600); err != nil {
		return "", fmt.Errorf("write spec file: %w", err)
	}
	return specDir, nil
}

// copyLocal copies the file or folder p of project to the same place
// under dir (links as links).
func copyLocal(dir string, project LocalTree, p string) error {
	return WalkLocal(project, p, func(sub string, d fs.DirEntry, data []byte) error {
		name := path.Join(p, sub)
		if d.Type()&fs.ModeSymlink != 0 {
			dest := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
				return err
			}
			return os.Symlink(string(data), dest)
		}
		mode := fs.FileMode(0o600)
		if info, err := d.Info(); err == nil && info.Mode()&0o111 != 0 {
			mode = 0o700
		}
		return writeBuildFile(dir, name, data, mode)
	})
}

// writeBuildFile writes data at the "/"-separated path name under dir.
func writeBuildFile(dir, name string, data []byte, mode fs.FileMode) error {
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	return os.WriteFile(p, data, mode)
}

// markComplete writes the prefix's COMPLETE marker (temp + rename) and its
// first last_used.
func markComplete(prefix, key, tool string) error {
	dir := filepath.Join(prefix, metaDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("mark environment complete: %w", err)
	}
	data, err := json.Marshal(completeMark{Key: key, Tool: filepath.Base(tool), CreatedAt: time.Now().UTC()})
	if err != nil {
		return fmt.Errorf("mark environment complete: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, lastUsedFile), nil); err != nil {
		return fmt.Errorf("mark environment used: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, completeFile), data); err != nil {
		return fmt.Errorf("mark environment complete: %w", err)
	}
	return nil
}

// ParseSent parses a spec whose pip -r/-c files are given by name, as the
// agent sends them (Spec.PipRequirements). Its Key is what Ensure keys the
// environment by, and what a docker image with the spec baked in uses.
func ParseSent(spec []byte, requirements map[string][]byte) (*Spec, error) {
	return ParseSpec(spec, "", requirementReader(requirements))
}

// requirementReader serves ParseSpec's reads of pip -r/-c files from the
// contents the agent sent.
func requirementReader(files map[string][]byte) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		if data, ok := files[filepath.ToSlash(name)]; ok {
			return data, nil
		}
		return nil, fmt.Errorf("requirements file %s: not sent with the spec", name)
	}
}
