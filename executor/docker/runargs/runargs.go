package runargs

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/docker/go-units"
)

// ReservedDir is where ferry mounts the run's files inside the container; a
// volume may not be mounted on or under it.
const ReservedDir = "/ferry"

// Args is the parsed, checked form of a run's docker arguments. Sizes and
// counts are kept as written; Parse has checked that they parse.
type Args struct {
	ShmSize string
	GPUs    string
	IPC     string
	Network string
	Memory  string
	CPUs    string
	Env     []string
	CapAdd  []string
	Ulimits []string
	Volumes []Volume
}

// Volume is one -v/--volume argument.
type Volume struct {
	// Source is an absolute host path (a bind mount) or a volume name.
	Source string
	// Target is the absolute path inside the container.
	Target   string
	ReadOnly bool
}

// Bind reports whether v mounts a host path rather than a named volume.
func (v Volume) Bind() bool { return strings.HasPrefix(v.Source, "/") }

// Parse reads args ("--flag=value", "--flag value", "-e" "K=V") over
// defaults, checks every value, and returns one warning per argument it
// ignores. An unknown argument's value cannot be told from the next
// argument, so an unknown flag written "--flag value" also warns about the
// value.
func Parse(defaults Args, args []string) (Args, []string, error) {
	a := defaults
	setters := a.setters()
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
				return Args{}, nil, fmt.Errorf("docker argument %s needs a value", flag)
			}
			i++
			value = args[i]
		}
		if err := set(value); err != nil {
			return Args{}, nil, fmt.Errorf("docker argument %s %q: %w", flag, value, err)
		}
	}
	if err := a.check(); err != nil {
		return Args{}, nil, err
	}
	return a, warnings, nil
}

// setters maps every spelling of each supported flag to what it sets.
func (a *Args) setters() map[string]func(string) error {
	add := func(list *[]string) func(string) error {
		return func(v string) error { *list = append(*list, v); return nil }
	}
	set := func(s *string) func(string) error {
		return func(v string) error { *s = v; return nil }
	}
	volume := func(v string) error {
		vol, err := ParseVolume(v)
		a.Volumes = append(a.Volumes, vol)
		return err
	}
	return map[string]func(string) error{
		"--shm-size": set(&a.ShmSize), "--gpus": set(&a.GPUs), "--ipc": set(&a.IPC),
		"--network": set(&a.Network), "--net": set(&a.Network),
		"--memory": set(&a.Memory), "-m": set(&a.Memory), "--cpus": set(&a.CPUs),
		"-e": add(&a.Env), "--env": add(&a.Env), "--cap-add": add(&a.CapAdd),
		"--ulimit": add(&a.Ulimits), "-v": volume, "--volume": volume,
	}
}

// check parses every value that has a syntax.
func (a *Args) check() error {
	if _, err := ShmBytes(a.ShmSize); err != nil {
		return err
	}
	if _, err := ParseGPUs(a.GPUs); err != nil {
		return err
	}
	if a.Memory != "" {
		if n, err := units.RAMInBytes(a.Memory); err != nil || n <= 0 {
			return fmt.Errorf("docker argument --memory %q: want a size such as 16g", a.Memory)
		}
	}
	if _, err := NanoCPUs(a.CPUs); err != nil {
		return err
	}
	for _, u := range a.Ulimits {
		if _, err := units.ParseUlimit(u); err != nil {
			return fmt.Errorf("docker argument --ulimit %q: %w", u, err)
		}
	}
	for _, e := range a.Env {
		if k, _, _ := strings.Cut(e, "="); k == "" {
			return fmt.Errorf("docker argument -e %q: want NAME=VALUE", e)
		}
	}
	return nil
}

// ParseVolume reads "SOURCE:TARGET[:ro|rw]".
func ParseVolume(s string) (Volume, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return Volume{}, fmt.Errorf("want SOURCE:TARGET[:ro]")
	}
	v := Volume{Source: parts[0], Target: parts[1]}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			v.ReadOnly = true
		case "rw":
		default:
			return Volume{}, fmt.Errorf("mode %q: want ro or rw", parts[2])
		}
	}
	if !path.IsAbs(v.Target) {
		return Volume{}, fmt.Errorf("target %q is not an absolute path", v.Target)
	}
	t := path.Clean(v.Target)
	if t == ReservedDir || strings.HasPrefix(t, ReservedDir+"/") {
		return Volume{}, fmt.Errorf("target %q is inside %s, where ferry mounts the run", v.Target, ReservedDir)
	}
	return v, nil
}

// DefaultShmSize is /dev/shm's size when none is given, as Azure ML's
// (Docker's own 64m starves PyTorch data loaders).
const DefaultShmSize = "2g"

// ShmBytes parses a shm size ("2g", "512m"), DefaultShmSize when empty.
func ShmBytes(s string) (int64, error) {
	if s == "" {
		s = DefaultShmSize
	}
	n, err := units.RAMInBytes(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("shm size %q: want a size such as 2g", s)
	}
	return n, nil
}

// NanoCPUs parses a --cpus value ("1.5"); 0 when empty.
func NanoCPUs(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	cpus, err := strconv.ParseFloat(s, 64)
	if err != nil || cpus <= 0 {
		return 0, fmt.Errorf("docker argument --cpus %q: want a positive number", s)
	}
	return int64(cpus * 1e9), nil
}
