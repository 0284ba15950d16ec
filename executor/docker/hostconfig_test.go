package docker

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/executor/docker/engine"
)

func TestDeviceRequests(t *testing.T) {
	gpu := [][]string{{"gpu"}}
	tests := []struct {
		in      string
		want    []engine.DeviceRequest
		wantErr bool
	}{
		{"", nil, false},
		{"0", nil, false},
		{"all", []engine.DeviceRequest{{Driver: "nvidia", Count: -1, Capabilities: gpu}}, false},
		{"2", []engine.DeviceRequest{{Driver: "nvidia", Count: 2, Capabilities: gpu}}, false},
		{`"device=0,2"`, []engine.DeviceRequest{{Driver: "nvidia", DeviceIDs: []string{"0", "2"}, Capabilities: gpu}}, false},
		{"device=", nil, true},
		{"-1", nil, true},
		{"many", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := DeviceRequests(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("DeviceRequests(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DeviceRequests(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestContainerConfigDefaults(t *testing.T) {
	cfg, host, warnings, err := containerConfig(RunOptions{
		Image: "img", Name: "ferry-r1", Argv: []string{"python3", "t.py"}, WorkDir: "/runs/r1",
		User: "1000:1000", GPUs: "all", Labels: map[string]string{"ferry.run": "r1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings = %q", warnings)
	}
	if host.ShmSize != 2<<30 {
		t.Errorf("ShmSize = %d, want 2 GiB", host.ShmSize)
	}
	if host.Init == nil || !*host.Init {
		t.Error("Init not set")
	}
	wantMount := []engine.Mount{{Type: engine.MountBind, Source: "/runs/r1", Target: DefaultMountPoint}}
	if !reflect.DeepEqual(host.Mounts, wantMount) {
		t.Errorf("Mounts = %+v", host.Mounts)
	}
	if len(host.DeviceRequests) != 1 || host.DeviceRequests[0].Count != -1 || host.DeviceRequests[0].Driver != "nvidia" {
		t.Errorf("DeviceRequests = %+v", host.DeviceRequests)
	}
	if cfg.User != "1000:1000" || cfg.WorkingDir != DefaultMountPoint || !slices.Contains(cfg.Env, "HOME=/tmp") {
		t.Errorf("config = %+v", cfg)
	}
	if cfg.Labels[LabelManaged] != "true" || cfg.Labels["ferry.run"] != "r1" {
		t.Errorf("Labels = %v", cfg.Labels)
	}
	if cfg.HostConfig != host || host.NetworkMode != "" {
		t.Errorf("host config = %+v", host)
	}
}

func TestContainerConfigArgs(t *testing.T) {
	cfg, host, warnings, err := containerConfig(RunOptions{
		Image: "img", Argv: []string{"x"}, WorkDir: "/w", ShmSize: "1g", GPUs: "1",
		Env: []string{"HOME=/h"},
		Args: []string{"--shm-size=16g", "--ipc", "host", "-e", "A=B", "--gpus=all",
			"--ulimit", "memlock=-1:-1", "--cpus=1.5", "-v", "/data:/data:ro", "--volume=cache:/cache", "--rm"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if host.ShmSize != 16<<30 || host.IpcMode != "host" || host.NanoCPUs != 1.5e9 {
		t.Errorf("host config = %+v", host)
	}
	if len(host.DeviceRequests) != 1 || host.DeviceRequests[0].Count != -1 {
		t.Errorf("DeviceRequests = %+v", host.DeviceRequests)
	}
	if len(host.Ulimits) != 1 || host.Ulimits[0].Name != "memlock" || host.Ulimits[0].Soft != -1 {
		t.Errorf("Ulimits = %+v", host.Ulimits)
	}
	if !slices.Contains(cfg.Env, "A=B") || slices.Contains(cfg.Env, "HOME=/tmp") {
		t.Errorf("Env = %q", cfg.Env)
	}
	wantMounts := []engine.Mount{
		{Type: engine.MountBind, Source: "/w", Target: DefaultMountPoint},
		{Type: engine.MountBind, Source: "/data", Target: "/data", ReadOnly: true},
		{Type: engine.MountVolume, Source: "cache", Target: "/cache"},
	}
	if !reflect.DeepEqual(host.Mounts, wantMounts) {
		t.Errorf("Mounts = %+v", host.Mounts)
	}
	if got := strings.Join(warnings, "\n"); len(warnings) != 1 || !strings.Contains(got, `"--rm"`) {
		t.Errorf("warnings = %q", warnings)
	}
}

func TestContainerConfigErrors(t *testing.T) {
	ok := RunOptions{Image: "img", Argv: []string{"x"}, WorkDir: "/w"}
	tests := []struct {
		name string
		edit func(*RunOptions)
	}{
		{"no image", func(o *RunOptions) { o.Image = "" }},
		{"no argv", func(o *RunOptions) { o.Argv = nil }},
		{"bad shm", func(o *RunOptions) { o.ShmSize = "lots" }},
		{"bad gpus", func(o *RunOptions) { o.GPUs = "some" }},
		{"missing value", func(o *RunOptions) { o.Args = []string{"--ipc"} }},
		{"bad cpus", func(o *RunOptions) { o.Args = []string{"--cpus=-2"} }},
		{"volume over the run", func(o *RunOptions) { o.Args = []string{"-v", "/data:/ferry/work/data"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.edit(&o)
			if _, _, _, err := containerConfig(o); err == nil {
				t.Error("containerConfig succeeded")
			}
		})
	}
}
