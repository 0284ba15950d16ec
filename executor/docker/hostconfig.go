package docker

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-units"
)

// Defaults of RunOptions.
const (
	// DefaultShmSize is /dev/shm's size when RunOptions.ShmSize is empty,
	// as Azure ML's (Docker's own 64m starves PyTorch data loaders).
	DefaultShmSize = "2g"
	// DefaultMountPoint is where RunOptions.WorkDir appears by default.
	DefaultMountPoint = "/ferry/work"
	// LabelManaged marks every container Run creates, so orphans (of a
	// crashed process) can be found: docker ps -a --filter label=ferry.managed.
	LabelManaged = "ferry.managed"
)

// containerConfig turns opts into the engine's container and host
// configuration. Warnings name the docker arguments it ignored.
func containerConfig(opts RunOptions) (*container.Config, *container.HostConfig, []string, error) {
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
	cfg := &container.Config{
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
	host := &container.HostConfig{
		Mounts: []mount.Mount{{Type: mount.TypeBind, Source: opts.WorkDir, Target: mountPoint}},
		Init:   &initProc,
	}
	for _, m := range opts.Mounts {
		host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	x := extraArgs{shmSize: opts.ShmSize, gpus: opts.GPUs}
	warnings, err := x.parse(opts.Args)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := x.apply(cfg, host); err != nil {
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
func DeviceRequests(gpus string) ([]container.DeviceRequest, error) {
	gpus = strings.Trim(strings.TrimSpace(gpus), `"'`)
	req := container.DeviceRequest{Driver: "nvidia", Capabilities: [][]string{{"gpu"}}}
	switch {
	case gpus == "" || gpus == "0":
		return nil, nil
	case gpus == "all":
		req.Count = -1
	case strings.HasPrefix(gpus, "device="):
		ids := strings.Split(strings.TrimPrefix(gpus, "device="), ",")
		for _, id := range ids {
			if id == "" {
				return nil, fmt.Errorf("parse gpus %q: empty device id", gpus)
			}
		}
		req.DeviceIDs = ids
	default:
		n, err := strconv.Atoi(gpus)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("parse gpus %q: want all, a count or device=ID[,ID]", gpus)
		}
		req.Count = n
	}
	return []container.DeviceRequest{req}, nil
}

// shmBytes parses a shm size ("2g", "512m"), DefaultShmSize when empty.
func shmBytes(s string) (int64, error) {
	if s == "" {
		s = DefaultShmSize
	}
	n, err := units.RAMInBytes(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("parse shm size %q: want a size such as 2g", s)
	}
	return n, nil
}
