package runargs

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	got, warnings, err := Parse(Args{ShmSize: "1g", GPUs: "1"}, []string{
		"--shm-size=16g", "--ipc", "host", "-e", "A=B", "--env=C=D", "--gpus", `"device=0,2"`,
		"-m", "8g", "--cpus", "2", "--cap-add=SYS_PTRACE", "--ulimit", "memlock=-1:-1",
		"-v", "/data:/data:ro", "--volume", "cache:/cache", "--net=host",
		"--rm", "--name=x", "--privileged",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Args{
		ShmSize: "16g", GPUs: `"device=0,2"`, IPC: "host", Network: "host", Memory: "8g", CPUs: "2",
		Env: []string{"A=B", "C=D"}, CapAdd: []string{"SYS_PTRACE"}, Ulimits: []string{"memlock=-1:-1"},
		Volumes: []Volume{{Source: "/data", Target: "/data", ReadOnly: true}, {Source: "cache", Target: "/cache"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", got, want)
	}
	if len(warnings) != 3 || !strings.Contains(warnings[0], `"--rm"`) || !strings.Contains(warnings[2], `"--privileged"`) {
		t.Errorf("warnings = %q", warnings)
	}
	if !got.Volumes[0].Bind() || got.Volumes[1].Bind() {
		t.Error("Bind() wrong")
	}
}

func TestParseDefaultsKept(t *testing.T) {
	got, warnings, err := Parse(Args{ShmSize: "4g", GPUs: "all"}, nil)
	if err != nil || len(warnings) != 0 || got.ShmSize != "4g" || got.GPUs != "all" {
		t.Errorf("Parse = %+v, %q, %v", got, warnings, err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := map[string][]string{
		"missing value":     {"--ipc"},
		"bad shm":           {"--shm-size", "lots"},
		"bad gpus":          {"--gpus=some"},
		"bad memory":        {"-m", "-1"},
		"bad cpus":          {"--cpus=0"},
		"bad ulimit":        {"--ulimit", "nofile"},
		"bad env":           {"-e", "=x"},
		"volume no target":  {"-v", "/data"},
		"volume relative":   {"-v", "/data:data"},
		"volume bad mode":   {"-v", "/data:/data:rx"},
		"volume over ferry": {"-v", "/x:/ferry"},
		"volume in ferry":   {"-v=/x:/ferry/lib/y"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			if _, _, err := Parse(Args{}, args); err == nil {
				t.Errorf("Parse(%q) succeeded", args)
			}
		})
	}
}

func TestParseGPUs(t *testing.T) {
	tests := []struct {
		in      string
		want    GPUs
		wantErr bool
	}{
		{"", GPUs{}, false},
		{"0", GPUs{}, false},
		{"all", GPUs{All: true}, false},
		{"3", GPUs{Count: 3}, false},
		{"'device=1'", GPUs{IDs: []string{"1"}}, false},
		{"device=GPU-ab,GPU-cd", GPUs{IDs: []string{"GPU-ab", "GPU-cd"}}, false},
		{"device=0,", GPUs{}, true},
		{"-2", GPUs{}, true},
		{"two", GPUs{}, true},
	}
	for _, tt := range tests {
		got, err := ParseGPUs(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("ParseGPUs(%q) = %+v, %v", tt.in, got, err)
		}
		if !tt.wantErr && got.None() != (tt.in == "" || tt.in == "0") {
			t.Errorf("ParseGPUs(%q).None() = %v", tt.in, got.None())
		}
	}
}
