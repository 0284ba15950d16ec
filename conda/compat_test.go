package conda

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestParseSpecCompat parses every real conda spec in testdata/aml and
// states what ferry reads from each.
func TestParseSpecCompat(t *testing.T) {
	tests := []struct {
		file     string
		name     string
		channels []string
		conda    []string
		pip      []string
		python   string
	}{
		{
			file:     "IDE-users-environments__pytorch-env.yml",
			name:     "pytorch-env",
			channels: []string{"defaults", "pytorch"},
			conda:    []string{"python=3.6.2", "pytorch", "torchvision"},
			python:   "3.6.2",
		},
		{
			// CRLF line ends, with "\r\r\n" after every comment line.
			file:   "aml_config__conda_dependencies.yml",
			name:   "project_environment",
			conda:  []string{"python=3.6.2"},
			pip:    []string{"azureml-defaults"},
			python: "3.6.2",
		},
		{
			file:   "azureml-cli.azureml__conda_dependencies.yml",
			name:   "project_environment",
			conda:  []string{"python=3.6.2"},
			pip:    []string{"azureml-defaults", "scikit-learn", "pandas"},
			python: "3.6.2",
		},
		{
			file:     "commandstep_train__conda_dependencies.yml",
			channels: []string{"conda-forge"},
			conda:    []string{"python=3.8"},
			pip:      []string{"azureml-defaults", "tensorflow-gpu==2.3.0", "horovod==0.19.5"},
			python:   "3.8",
		},
		{
			file:  "train-on-remote-vm__train-on-remote-vm.yml",
			name:  "train-on-remote-vm",
			conda: []string{"matplotlib", "tqdm", "scikit-learn"},
			pip:   []string{"azureml-sdk", "azureml-widgets"},
		},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "aml", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			s, err := ParseSpec(data, "testdata/aml", nil)
			if err != nil {
				t.Fatalf("ParseSpec: %v", err)
			}
			if s.Name != tt.name || s.Python != tt.python {
				t.Errorf("name, python = %q, %q; want %q, %q", s.Name, s.Python, tt.name, tt.python)
			}
			assertList(t, "channels", s.Channels, tt.channels)
			assertList(t, "conda", s.Conda, tt.conda)
			assertList(t, "pip", s.Pip, tt.pip)
			if len(s.Unknown) != 0 || s.Prefix != "" || len(s.PipRequirements) != 0 || len(s.Warnings()) != 0 {
				t.Errorf("unexpected extras: unknown %v, prefix %q, requirements %v", s.Unknown, s.Prefix, s.PipRequirements)
			}
		})
	}
	files, _ := filepath.Glob("testdata/aml/*.yml")
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("%s has no test case", f)
		}
	}
}

// TestCompatKeys checks that the two project_environment files, which
// differ in line ends, comments and pip entries, get the keys they should.
func TestCompatKeys(t *testing.T) {
	read := func(name string) *Spec {
		data, err := os.ReadFile(filepath.Join("testdata", "aml", name))
		if err != nil {
			t.Fatal(err)
		}
		s, err := ParseSpec(data, "testdata/aml", nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	crlf := read("aml_config__conda_dependencies.yml")
	lf := read("azureml-cli.azureml__conda_dependencies.yml")
	if crlf.Key() == lf.Key() {
		t.Errorf("specs with different pip lists share key %s", crlf.Key())
	}
	lf.Pip = lf.Pip[:1]
	if crlf.Key() != lf.Key() {
		t.Errorf("same content, different keys:\n%s\n%s", crlf.Normalized(), lf.Normalized())
	}
}

func assertList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}
