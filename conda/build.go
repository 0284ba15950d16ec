package conda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/internal/fsutil"
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
	spec, err := ParseSent(req.Spec, req.Requirements)
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
	return env, c.build(ctx, env.Key, req, out)
}

// build creates the prefix of key. The caller holds the key's lock.
func (c *Cache) build(ctx context.Context, key string, req Request, out io.Writer) error {
	tool, err := FindTool(req.Tool)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "ferry: building conda environment %s with %s\n", short(key), filepath.Base(tool))
	start := time.Now()
	if err := c.discard(key); err != nil { // an incomplete prefix
		return err
	}
	buildDir := filepath.Join(c.dir, key+buildSuffix)
	defer os.RemoveAll(buildDir)
	if err := writeBuildDir(buildDir, req); err != nil {
		return err
	}
	prefix := c.Prefix(key)
	if err := c.run(ctx, tool, prefix, buildDir, out); err != nil {
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
	tail := &tailBuffer{}
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

// writeBuildDir writes the spec as SpecFileName and the pip -r/-c files
// that lie below it at their relative paths, so that the tool's pip step
// finds them as it would in the user's project.
func writeBuildDir(dir string, req Request) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clear build directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create build directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, SpecFileName), req.Spec, 0o600); err != nil {
		return fmt.Errorf("write spec file: %w", err)
	}
	for name, data := range req.Requirements {
		rel := filepath.FromSlash(name)
		if !filepath.IsLocal(rel) {
			continue // absolute or above the spec: pip reads it on the target
		}
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return fmt.Errorf("write requirements %s: %w", name, err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return fmt.Errorf("write requirements %s: %w", name, err)
		}
	}
	return nil
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
