package docker

import (
	"fmt"

	"github.com/docker/go-units"
	"github.com/ferry-ml/ferry/executor/docker/engine"
	"github.com/ferry-ml/ferry/executor/docker/runargs"
)

// applyArgs writes the parsed docker arguments into the container's
// configuration (runargs.Parse has checked every value).
func applyArgs(a runargs.Args, cfg *engine.ContainerConfig, host *engine.HostConfig) error {
	var err error
	if host.ShmSize, err = runargs.ShmBytes(a.ShmSize); err != nil {
		return err
	}
	if host.DeviceRequests, err = DeviceRequests(a.GPUs); err != nil {
		return err
	}
	if host.NanoCPUs, err = runargs.NanoCPUs(a.CPUs); err != nil {
		return err
	}
	cfg.Env = append(cfg.Env, a.Env...)
	host.IpcMode = a.IPC
	host.NetworkMode = a.Network
	host.CapAdd = a.CapAdd
	if a.Memory != "" {
		if host.Memory, err = units.RAMInBytes(a.Memory); err != nil {
			return fmt.Errorf("docker argument --memory %q: %w", a.Memory, err)
		}
	}
	for _, u := range a.Ulimits {
		ul, err := units.ParseUlimit(u)
		if err != nil {
			return fmt.Errorf("docker argument --ulimit %q: %w", u, err)
		}
		host.Ulimits = append(host.Ulimits, ul)
	}
	for _, v := range a.Volumes {
		m := engine.Mount{Type: engine.MountVolume, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly}
		if v.Bind() {
			m.Type = engine.MountBind
		}
		host.Mounts = append(host.Mounts, m)
	}
	return nil
}
