package docker

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-units"
)

// extraArgs is the subset of `docker run` arguments a run configuration's
// docker.arguments may use. Anything else is ignored with a warning: it
// could mount host paths or change what ferry relies on (name, user,
// mounts, removal).
type extraArgs struct {
	shmSize string
	gpus    string
	env     []string
	ipc     string
	network string
	memory  string
	cpus    string
	capAdd  []string
	ulimits []string
}

// setters maps every spelling of each supported flag to what it sets.
func (x *extraArgs) setters() map[string]func(string) {
	add := func(list *[]string) func(string) { return func(v string) { *list = append(*list, v) } }
	set := func(s *string) func(string) { return func(v string) { *s = v } }
	return map[string]func(string){
		"--shm-size": set(&x.shmSize), "--gpus": set(&x.gpus), "--ipc": set(&x.ipc),
		"--network": set(&x.network), "--net": set(&x.network),
		"--memory": set(&x.memory), "-m": set(&x.memory), "--cpus": set(&x.cpus),
		"-e": add(&x.env), "--env": add(&x.env), "--cap-add": add(&x.capAdd), "--ulimit": add(&x.ulimits),
	}
}

// parse reads args ("--flag=value" or "--flag value") over x's defaults and
// returns a warning for each argument it ignores.
func (x *extraArgs) parse(args []string) ([]string, error) {
	setters := x.setters()
	var warnings []string
	for i := 0; i < len(args); i++ {
		flag, value, hasValue := strings.Cut(args[i], "=")
		set, ok := setters[flag]
		if !ok {
			warnings = append(warnings, fmt.Sprintf("ignoring docker argument %q: not supported by ferry", args[i]))
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("parse docker arguments: %s needs a value", flag)
			}
			i++
			value = args[i]
		}
		set(value)
	}
	return warnings, nil
}

// apply writes x into the container's configuration.
func (x *extraArgs) apply(cfg *container.Config, host *container.HostConfig) error {
	var err error
	if host.ShmSize, err = shmBytes(x.shmSize); err != nil {
		return err
	}
	if host.DeviceRequests, err = DeviceRequests(x.gpus); err != nil {
		return err
	}
	cfg.Env = append(cfg.Env, x.env...)
	host.IpcMode = container.IpcMode(x.ipc)
	host.NetworkMode = container.NetworkMode(x.network)
	host.CapAdd = x.capAdd
	if x.memory != "" {
		if host.Memory, err = units.RAMInBytes(x.memory); err != nil {
			return fmt.Errorf("parse docker argument --memory %q: %w", x.memory, err)
		}
	}
	if x.cpus != "" {
		cpus, err := strconv.ParseFloat(x.cpus, 64)
		if err != nil || cpus <= 0 {
			return fmt.Errorf("parse docker argument --cpus %q: want a positive number", x.cpus)
		}
		host.NanoCPUs = int64(cpus * 1e9)
	}
	for _, u := range x.ulimits {
		ul, err := units.ParseUlimit(u)
		if err != nil {
			return fmt.Errorf("parse docker argument --ulimit %q: %w", u, err)
		}
		host.Ulimits = append(host.Ulimits, ul)
	}
	return nil
}
