package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/conda"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/docker"
	"github.com/ferry-ml/ferry/internal/fsutil"
	"github.com/hashicorp/go-hclog"
)

// Where a docker run's files appear inside its container.
const (
	containerWork    = docker.DefaultMountPoint // the run's work directory
	containerLib     = "/ferry/lib"             // ferry's Python helper, read-only
	containerMetrics = "/ferry/run/" + metricsFile
)

// dockerCleanupTimeout bounds the removal of a lost run's container.
const dockerCleanupTimeout = 30 * time.Second

// dockerLaunch is how the shim runs a docker run: one container of Image,
// removed when it ends.
type dockerLaunch struct {
	Image   string            `json:"image"`
	Name    string            `json:"name"`
	Argv    []string          `json:"argv"` // resolved inside the container
	Env     []string          `json:"env"`
	WorkDir string            `json:"work_dir"` // host directory mounted at containerWork
	Mounts  []docker.Mount    `json:"mounts,omitempty"`
	User    string            `json:"user"` // uid:gid of the executor
	GPUs    string            `json:"gpus,omitempty"`
	ShmSize string            `json:"shm_size,omitempty"`
	Args    []string          `json:"args,omitempty"` // extra docker run arguments
	Labels  map[string]string `json:"labels,omitempty"`
}

// containerName is the container of run id.
func containerName(id string) string { return "ferry-" + id }

// prepareDocker checks the engine and makes the run's image present
// (building it once per key); the build's output goes to the run's log.
func (r *Runner) prepareDocker(ctx context.Context, st *runState) (envSetup, error) {
	spec := st.spec.Environment
	c, err := dockerClient(ctx, r.log.Named("docker"))
	if err != nil {
		return envSetup{}, err
	}
	defer c.Close()
	logf, err := st.paths.appendLog()
	if err != nil {
		return envSetup{}, err
	}
	defer logf.Close()
	ds := docker.Spec{BaseImage: spec.DockerImage, Dockerfile: []byte(spec.Dockerfile),
		CondaSpec: spec.CondaSpec, CondaFiles: spec.CondaRequirements, CondaDir: spec.CondaDir}
	var setup envSetup
	if len(spec.CondaSpec) > 0 {
		cs, err := dockerCondaSpec(st, &ds)
		if err != nil {
			return envSetup{}, err
		}
		setup.vars = condaVariables(cs)
	}
	img, err := r.ensureImage(ctx, c, ds, logf)
	if err != nil {
		return envSetup{}, err
	}
	// The metrics file is bind-mounted, so it must exist first.
	if err := os.WriteFile(st.paths.metrics(), nil, 0o644); err != nil {
		return envSetup{}, fmt.Errorf("create metrics file: %w", err)
	}
	setup.python, setup.image = "python3", img.Ref
	if spec.Python != "" { // --python: an interpreter in the image
		setup.python = spec.Python
	}
	if len(spec.CondaSpec) > 0 {
		setup.python = docker.CondaPrefix + "/bin/python"
	}
	return setup, nil
}

// dockerCondaSpec parses the conda spec baked into the run's image and
// completes ds with its key and the project files its pip section
// installs from (wheels, "-e ." folders, --find-links folders), read from
// the run's snapshot: the image builds them in, as conda would from the
// spec's folder, and keeps the project copy for an editable install.
func dockerCondaSpec(st *runState, ds *docker.Spec) (*conda.Spec, error) {
	spec := st.spec.Environment
	cs, err := conda.ParseSent(spec.CondaSpec, spec.CondaRequirements)
	if err != nil {
		return nil, fmt.Errorf("conda spec: %w", err)
	}
	if refs := cs.LocalRefs(); len(refs) > 0 {
		project, done, err := condaProject(st)
		if err != nil {
			return nil, err
		}
		defer done()
		if ds.CondaLocal, err = readLocal(cs, project); err != nil {
			return nil, err
		}
		ds.KeepSource = cs.Editable()
	}
	ds.CondaKey = cs.Key()
	return cs, nil
}

// readLocal hashes the spec's local pip paths into its key and returns
// their files by path relative to the spec's folder.
func readLocal(cs *conda.Spec, project conda.LocalTree) (map[string][]byte, error) {
	if project.Root == nil {
		return nil, fmt.Errorf("conda spec: pip installs from %s, a path relative to the spec, but the spec's folder is not in the run's snapshot", cs.LocalRefs()[0].Path)
	}
	if err := cs.HashLocal(project); err != nil {
		return nil, fmt.Errorf("conda spec: %w", err)
	}
	files := map[string][]byte{}
	for _, r := range cs.LocalRefs() {
		err := conda.WalkLocal(project, path.Join(project.Dir, r.Path), func(sub string, d fs.DirEntry, data []byte) error {
			if d.Type()&fs.ModeSymlink == 0 {
				files[path.Join(r.Path, sub)] = data
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("conda spec: pip path %s: %w", r.Path, err)
		}
	}
	return files, nil
}

// dockerClient connects to the target's engine and checks that it answers.
func dockerClient(ctx context.Context, log hclog.Logger) (*docker.Client, error) {
	c, err := docker.New(log)
	if err != nil {
		return nil, fmt.Errorf("docker is not available on this target: %w", err)
	}
	if _, err := c.Ping(ctx); err != nil {
		c.Close()
		var ue *docker.UnavailableError
		if errors.As(err, &ue) && ue.Hint != "" {
			return nil, fmt.Errorf("docker is not available on this target: %w (%s)", err, ue.Hint)
		}
		return nil, fmt.Errorf("docker is not available on this target: %w", err)
	}
	return c, nil
}

// ensureImage makes ds's image present, saying in log whether it was built
// or found. A derived image is built under a lock in the executor's state,
// so runs racing for one key (in this executor or another of its user's)
// build it once: the others wait, then find it. Its use is recorded for
// ferry env list and prune (the engine keeps no last-use time).
func (r *Runner) ensureImage(ctx context.Context, c *docker.Client, ds docker.Spec, log io.Writer) (docker.Image, error) {
	tos := &tailWriter{w: &announceWriter{w: log, header: buildHeader(ds)}}
	img, err := r.ensureImageOnce(ctx, c, ds, log, tos)
	if hint := conda.TermsOfServiceHint(tos.tail()); err != nil && hint != "" {
		err = fmt.Errorf("%w (%s)", err, hint)
	}
	return img, err
}

// ensureImageOnce is ensureImage's work; the build's output goes to out.
func (r *Runner) ensureImageOnce(ctx context.Context, c *docker.Client, ds docker.Spec, log, out io.Writer) (docker.Image, error) {
	if !ds.Derived() {
		img, err := c.EnsureImage(ctx, ds, out)
		if err != nil {
			return img, err
		}
		if !img.Built {
			fmt.Fprintf(log, "ferry: docker image %s (cached)\n", img.Ref)
		}
		if err := r.imageUses().recordBase(docker.Key(ds), img.Ref); err != nil {
			r.log.Warn("record docker image use", "image", img.Ref, "error", err)
		}
		return img, nil
	}
	key, uses := docker.Key(ds), r.imageUses()
	lockPath, err := uses.lockPath(key)
	if err != nil {
		return docker.Image{}, err
	}
	l, err := fsutil.Lock(ctx, lockPath, func() {
		fmt.Fprintf(log, "ferry: docker image %s is being built by another run; waiting\n", docker.ImageName(key))
	})
	if err != nil {
		return docker.Image{}, fmt.Errorf("lock docker image %s: %w", docker.ImageName(key), err)
	}
	defer l.Unlock()
	img, err := c.EnsureImage(ctx, ds, out)
	if err != nil {
		return img, err
	}
	if !img.Built {
		fmt.Fprintf(log, "ferry: docker image %s (cached)\n", img.Ref)
	}
	if err := uses.touch(img.Key); err != nil {
		r.log.Warn("record docker image use", "image", img.Ref, "error", err)
	}
	return img, nil
}

// dockerLaunch describes the container of a prepared docker run: the
// script's environment holds the spec's variables and ferry's, with paths
// as the container sees them (none of the executor's own environment).
func (r *Runner) dockerLaunch(st *runState, env envSetup) *dockerLaunch {
	spec := st.spec
	names := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		names = append(names, k)
	}
	sort.Strings(names)
	var vars []string
	for _, kv := range env.vars { // the conda spec's variables:, which --env overrides
		if _, set := spec.Env[kv[0]]; !set {
			vars = append(vars, kv[0]+"="+kv[1])
		}
	}
	pythonPath := containerLib
	for _, k := range names {
		if k == "PYTHONPATH" {
			pythonPath += ":" + spec.Env[k]
			continue
		}
		vars = append(vars, k+"="+spec.Env[k])
	}
	vars = append(vars,
		"PYTHONPATH="+pythonPath,
		"PYTHONUNBUFFERED=1",
		envRunID+"="+spec.ID,
		envExperiment+"="+spec.Experiment,
		envOutputsDir+"="+containerWork+"/"+outputsDir,
		envMetricsFile+"="+containerMetrics,
	)
	return &dockerLaunch{
		Image:   env.image,
		Name:    containerName(spec.ID),
		Argv:    dockerArgv(env.python, spec.Script, spec.Args),
		Env:     vars,
		WorkDir: absPath(st.paths.work()),
		Mounts: []docker.Mount{
			{Source: absPath(r.libDir), Target: containerLib, ReadOnly: true},
			{Source: absPath(st.paths.metrics()), Target: containerMetrics},
		},
		User:    fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()),
		GPUs:    spec.Environment.GPUs,
		ShmSize: spec.Environment.ShmSize,
		Args:    spec.Environment.DockerArgs,
		Labels:  map[string]string{"ferry.run": spec.ID},
	}
}

// tailWriter passes writes on and keeps the last 4 KiB of them.
type tailWriter struct {
	w   io.Writer
	buf []byte
}

// Write implements io.Writer.
func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 8<<10 {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-4<<10:]...)
	}
	return t.w.Write(p)
}

func (t *tailWriter) tail() string { return string(t.buf) }

// containerActivate does in a container what "conda activate" adds to the
// image's ENV (package imagespec): it merges the prefix's
// etc/conda/env_vars.d/*.json (read with the environment's own python, the
// image may have no other JSON reader) and sources its
// etc/conda/activate.d/*.sh in name order, their output kept off stdout,
// then runs the script. See conda.Activation for the host's side.
const containerActivate = `p=` + docker.CondaPrefix + `
for f in "$p"/etc/conda/env_vars.d/*.json; do
	[ -f "$f" ] && eval "$("$p/bin/python" -c 'import json, shlex, sys
for k, v in sorted(json.load(open(sys.argv[1])).items()): print("export %s=%s" % (k, shlex.quote(str(v))))' "$f")"
done
for f in "$p"/etc/conda/activate.d/*.sh; do
	[ -f "$f" ] && . "$f"
done >&2
exec "$@"`

// dockerArgv is a container's command: python with the script, through
// containerActivate when python is the baked-in conda environment's.
func dockerArgv(python, script string, args []string) []string {
	argv := append([]string{python, script}, args...)
	if !strings.HasPrefix(python, docker.CondaPrefix+"/") {
		return argv
	}
	return append([]string{"/bin/sh", "-c", containerActivate, "sh"}, argv...)
}

// removeContainer force-removes the container of a docker run whose shim
// died (best effort: the engine may be gone too).
func (r *Runner) removeContainer(st *runState) {
	if st.spec.Environment.Kind != api.EnvDocker {
		return
	}
	log := r.log.With("run_id", st.spec.ID)
	c, err := docker.New(r.log.Named("docker"))
	if err != nil {
		log.Warn("remove container of a lost run", "error", err)
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), dockerCleanupTimeout)
	defer cancel()
	if err := c.Remove(ctx, containerName(st.spec.ID)); err != nil {
		log.Warn("remove container of a lost run", "error", err)
	}
}

// buildHeader is the log line printed before an image build's (or a base
// image pull's) output.
func buildHeader(s docker.Spec) string {
	if s.Derived() {
		return fmt.Sprintf("ferry: building docker image %s\n", docker.ImageName(docker.Key(s)))
	}
	return fmt.Sprintf("ferry: pulling docker image %s\n", s.BaseImage)
}

// announceWriter writes header before the first write, so that a header
// appears only when there is output (a build or a pull, not a reuse).
type announceWriter struct {
	w      io.Writer
	header string
	done   bool
}

// Write implements io.Writer.
func (a *announceWriter) Write(p []byte) (int, error) {
	if !a.done {
		a.done = true
		if _, err := io.WriteString(a.w, a.header); err != nil {
			return 0, err
		}
	}
	return a.w.Write(p)
}
