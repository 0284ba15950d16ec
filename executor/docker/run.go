package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/executor/docker/engine"
)

// Timeouts of the cleanup steps, which run even after ctx is done.
const (
	// DefaultStopGrace is RunOptions.StopGrace when zero.
	DefaultStopGrace = 10 * time.Second
	cleanupTimeout   = 30 * time.Second
	// drainTimeout bounds how long Run waits for the output stream to end
	// after the container exited.
	drainTimeout = 10 * time.Second
)

// RunOptions describes one containerised run.
type RunOptions struct {
	// Image is the image to run (Image.Ref from EnsureImage).
	Image string
	// Name is the container's name, e.g. "ferry-<runid>"; it must be
	// unused. Empty lets the engine choose.
	Name string
	// Argv is the command, run in WorkDir's mount with no shell.
	Argv []string
	// Env holds "KEY=VALUE" entries on top of the image's. HOME=/tmp is
	// added unless Env sets HOME (the uid may have no home in the image).
	Env []string
	// WorkDir is the host directory (the run's files) bind-mounted
	// read-write at MountPoint, which is also the working directory.
	WorkDir string
	// MountPoint defaults to DefaultMountPoint.
	MountPoint string
	// Mounts are extra bind mounts (ferry's helper library, the metrics
	// file); each Source must exist on the host.
	Mounts []Mount
	// User is "uid:gid" inside the container, so files written in the
	// mount belong to that user on the host. Empty: this process's uid:gid.
	User string
	// GPUs is a --gpus value: "", "all", "N" or "device=ID[,ID]".
	GPUs string
	// ShmSize is /dev/shm's size ("2g"); empty means DefaultShmSize.
	ShmSize string
	// Args are extra `docker run` arguments (a run configuration's
	// docker.arguments): those package runargs honours apply over ShmSize
	// and GPUs; others are ignored (the agent warns about them).
	Args []string
	// Labels are added to the container (LabelManaged always is).
	Labels map[string]string
	// Log receives the container's stdout and stderr, interleaved as they
	// arrive. Nil drops them. Writes come from one
	// goroutine at a time.
	Log io.Writer
	// StopGrace is how long a container gets between SIGTERM and SIGKILL
	// when ctx is cancelled; zero means DefaultStopGrace.
	StopGrace time.Duration
}

// Mount is one extra bind mount of RunOptions.
type Mount struct {
	// Source is the host path (a file or a directory).
	Source string
	// Target is the absolute path inside the container.
	Target string
	// ReadOnly mounts it read-only.
	ReadOnly bool
}

// Exit is how a container ended.
type Exit struct {
	// Code is the exit code (128+signal when signalled, e.g. 143 after
	// Stop), or -1 when unknown.
	Code int
	// OOMKilled is set when the kernel's out-of-memory killer ended a
	// process in the container (docker inspect's State.OOMKilled); it is
	// looked up only for exit code 137.
	OOMKilled bool
}

// Run creates a container for opts, streams its output to opts.Log, waits
// for it to exit and returns how it ended. The container is removed before
// Run returns, on success or error. When ctx is cancelled the container is
// stopped (SIGTERM, SIGKILL after StopGrace) and removed, and the error
// wraps ctx's. A Stop from elsewhere simply makes Run return the
// container's exit code.
func (c *Client) Run(ctx context.Context, opts RunOptions) (exit Exit, err error) {
	// The warnings about ignored arguments are not repeated in the log: the
	// agent, parsing them with the same package, printed them before the
	// run was submitted (and --dry-run lists them).
	cfg, _, _, err := containerConfig(opts)
	if err != nil {
		return Exit{Code: -1}, err
	}
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	id, err := c.api.ContainerCreate(ctx, cfg, opts.Name)
	if err != nil {
		return Exit{Code: -1}, fmt.Errorf("create container %s: %w", opts.Name, err)
	}
	log := c.log.With("container", opts.Name, "id", shortID(id))
	log.Debug("created container", "image", opts.Image)
	defer func() {
		if rmErr := c.remove(ctx, id); rmErr != nil {
			err = errors.Join(err, rmErr)
		}
	}()
	return c.runCreated(ctx, id, opts, logw)
}

// runCreated attaches to, starts and waits for the container id.
func (c *Client) runCreated(ctx context.Context, id string, opts RunOptions, logw io.Writer) (Exit, error) {
	out, err := c.api.ContainerAttach(ctx, id)
	if err != nil {
		return Exit{Code: -1}, fmt.Errorf("attach container %s: %w", opts.Name, err)
	}
	defer out.Close()
	// The wait outlives ctx: a cancelled run is stopped, then waited for.
	waitCtx, cancelWait := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWait()
	waitC, waitErrC := c.api.ContainerWait(waitCtx, id)
	copied := make(chan error, 1)
	go func() { copied <- engine.Demux(logw, out) }()
	// Start is not cancelled with ctx: a cancel that lands while the
	// container is starting (its output may already flow) must stop it and
	// report how it ended, which await does.
	if err := c.api.ContainerStart(context.WithoutCancel(ctx), id); err != nil {
		return Exit{Code: -1}, startError(opts.Name, err)
	}
	code, err := c.await(ctx, id, opts, waitC, waitErrC)
	if err != nil {
		return Exit{Code: code}, err
	}
	c.drain(copied, opts.Name)
	return Exit{Code: code, OOMKilled: code == 137 && c.oomKilled(ctx, id)}, ctx.Err()
}

// oomKilled reports whether the engine saw the kernel's OOM killer end a
// process of the exited container id (false when it cannot tell).
func (c *Client) oomKilled(ctx context.Context, id string) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	info, err := c.api.ContainerInspect(ctx, id)
	if err != nil || info.State == nil {
		c.log.Debug("inspect exited container", "id", shortID(id), "error", err)
		return false
	}
	return info.State.OOMKilled
}

// await waits for the container's exit, stopping it if ctx ends first.
func (c *Client) await(ctx context.Context, id string, opts RunOptions, waitC <-chan engine.WaitResponse, errC <-chan error) (int, error) {
	select {
	case <-ctx.Done():
		grace := opts.StopGrace
		if grace == 0 {
			grace = DefaultStopGrace
		}
		if err := c.Stop(context.WithoutCancel(ctx), id, grace); err != nil {
			return -1, errors.Join(fmt.Errorf("run container %s: %w", opts.Name, ctx.Err()), err)
		}
	case r := <-waitC:
		return exitCode(r, opts.Name)
	case err := <-errC:
		return -1, fmt.Errorf("wait for container %s: %w", opts.Name, err)
	}
	select {
	case r := <-waitC:
		code, err := exitCode(r, opts.Name)
		return code, errors.Join(fmt.Errorf("run container %s: %w", opts.Name, ctx.Err()), err)
	case err := <-errC:
		return -1, fmt.Errorf("wait for stopped container %s: %w", opts.Name, err)
	}
}

// drain waits for the output stream to end after the exit; the engine
// closes it at once, the bound only guards against a stuck connection.
func (c *Client) drain(copied <-chan error, name string) {
	select {
	case err := <-copied:
		if err != nil {
			c.log.Warn("container output stream ended with an error", "container", name, "error", err)
		}
	case <-time.After(drainTimeout):
		c.log.Warn("container output stream still open after exit; dropping it", "container", name)
	}
}

// exitCode reads a wait response.
func exitCode(r engine.WaitResponse, name string) (int, error) {
	if r.Error != nil && r.Error.Message != "" {
		return -1, fmt.Errorf("wait for container %s: %s", name, r.Error.Message)
	}
	return int(r.StatusCode), nil
}

// Stop cancels the container name (or id): SIGTERM to its init process,
// which forwards it to the command, then SIGKILL after grace (rounded up to
// whole seconds). It returns once the container stopped; a Run waiting on
// it then returns the exit code and removes it. A missing or already
// stopped container is not an error.
func (c *Client) Stop(ctx context.Context, name string, grace time.Duration) error {
	secs := int(math.Ceil(grace.Seconds()))
	err := c.api.ContainerStop(ctx, name, "SIGTERM", secs)
	if err != nil && !engine.IsNotFound(err) {
		return fmt.Errorf("stop container %s: %w", name, err)
	}
	return nil
}

// Remove force-removes the container name (or id), running or not, with its
// anonymous volumes: the cleanup for a container whose Run process died. A
// missing container is not an error.
func (c *Client) Remove(ctx context.Context, name string) error {
	err := c.api.ContainerRemove(ctx, name, true)
	if err != nil && !engine.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", name, err)
	}
	return nil
}

// remove is Remove on a context that survives ctx's cancellation.
func (c *Client) remove(ctx context.Context, id string) error {
	rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	return c.Remove(rmCtx, id)
}

// shortID is the 12-hex form of a container id.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// startError wraps a failed container start, with what to do when GPUs
// were asked of an engine that has no NVIDIA runtime.
func startError(name string, err error) error {
	if strings.Contains(err.Error(), `could not select device driver "nvidia"`) {
		return fmt.Errorf("start container %s: %w (GPUs were asked for, but the target's Docker engine has no NVIDIA runtime: install the NVIDIA Container Toolkit there, or run without --gpus)", name, err)
	}
	return fmt.Errorf("start container %s: %w", name, err)
}
