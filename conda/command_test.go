package conda

import (
	"slices"
	"testing"
)

func TestBuildCommand(t *testing.T) {
	tests := []struct {
		tool string
		want []string
	}{
		{"micromamba", []string{"micromamba", "create", "--yes", "--quiet", "--prefix", "/p", "--file", "/r/environment.yml"}},
		{"/opt/bin/micromamba", []string{"/opt/bin/micromamba", "create", "--yes", "--quiet", "--prefix", "/p", "--file", "/r/environment.yml"}},
		{"mamba", []string{"mamba", "env", "create", "--quiet", "--prefix", "/p", "--file", "/r/environment.yml"}},
		{"/home/u/miniconda3/bin/conda", []string{"/home/u/miniconda3/bin/conda", "env", "create", "--quiet", "--prefix", "/p", "--file", "/r/environment.yml"}},
		{"pip", nil},
		{"", nil},
	}
	for _, tt := range tests {
		if got := BuildCommand(tt.tool, "/p", "/r/"+SpecFileName); !slices.Equal(got, tt.want) {
			t.Errorf("BuildCommand(%q) = %q, want %q", tt.tool, got, tt.want)
		}
	}
	if env := BuildEnviron(); !slices.Contains(env, "CONDA_ALWAYS_YES=true") || !slices.Contains(env, "MAMBA_ALWAYS_YES=true") {
		t.Errorf("BuildEnviron() = %q", env)
	}
}
