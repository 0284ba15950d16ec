package docker

import (
	"fmt"
	"os"
	"strings"

	"github.com/ferry-ml/ferry/executor/docker/engine"
	"github.com/ferry-ml/ferry/executor/docker/runargs"
)

// Defaults of RunOptions.
const (
	// DefaultShmSize is /dev/shm's size when RunOptions.ShmSize is empty.
	DefaultShmSize = runargs.DefaultShmSize
	// DefaultMountPoint is where RunOptions.WorkDir appears by default.
	DefaultMountPoint = "/ferry/work"
	// LabelManaged marks every container Run creates, so orphans (of a
	// crashed process) can be found: docker ps -a --filter label=ferry.managed.
	LabelManaged = "ferry.managed"
)

// containerConfig turns opts into the engine's container and host
// configuration (the latter also set in the former's HostConfig). Warnings
// name the docker arguments it ignored.
func containerConfig(opts RunOptions) (*engine.ContainerConfig, *engine.HostConfig, []string, error) {
	if opts.Image == "" || len(opts.Argv) == 0 || opts.WorkDir == "" {
		return nil, nil, nil, fmt.Errorf("run container %s: image, argv and work dir are required", opts.Name)
	}
	mountPoint := opts.MountPoint
	if mountPoint == "" {
		mountPoint = DefaultMountPoint
	}
	user := opts.User
	if user == "" {
		user = fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	}
	cfg := &engine.ContainerConfig{
		Image:        opts.Image,
		Cmd:          opts.Argv,
		Env:          withDefaultEnv(opts.Env),
		WorkingDir:   mountPoint,
		User:         user,
		Labels:       map[string]string{LabelManaged: "true"},
		AttachStdout: true,
		AttachStderr: true,
	}
	for k, v := range opts.Labels {
		cfg.Labels[k] = v
	}
	initProc := true
	host := &engine.HostConfig{
		Mounts: []engine.Mount{{Type: engine.MountBind, Source: opts.WorkDir, Target: mountPoint}},
		Init:   &initProc,
	}
	cfg.HostConfig = host
	for _, m := range opts.Mounts {
		host.Mounts = append(host.Mounts, engine.Mount{Type: engine.MountBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	args, warnings, err := runargs.Parse(runargs.Args{ShmSize: opts.ShmSize, GPUs: opts.GPUs}, opts.Args)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("run container %s: %w", opts.Name, err)
	}
	if err := applyArgs(args, cfg, host); err != nil {
		return nil, nil, nil, err
	}
	return cfg, host, warnings, nil
}

// withDefaultEnv adds HOME=/tmp unless env sets HOME: the run's uid often
// has no passwd entry in the image, which would leave HOME at an unwritable /.
func withDefaultEnv(env []string) []string {
	for _, kv := range env {
		if strings.HasPrefix(kv, "HOME=") {
			return env
		}
	}
	return append(append([]string(nil), env...), "HOME=/tmp")
}

// DeviceRequests turns a --gpus value into the engine's device requests:
// "" or "0" none, "all" every GPU, "N" that many, "device=0,2" those ids.
func DeviceRequests(gpus string) ([]engine.DeviceRequest, error) {
	g, err := runargs.ParseGPUs(gpus)
	if err != nil || g.None() {
		return nil, err
	}
	req := engine.DeviceRequest{Driver: "nvidia", Count: g.Count, DeviceIDs: g.IDs, Capabilities: [][]string{{"gpu"}}}
	if g.All {
		req.Count = -1
	}
	return []engine.DeviceRequest{req}, nil
}
