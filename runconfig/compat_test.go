package runconfig

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/conda"
)

// sparkWarnings are the warnings every SDK-written .runconfig of that era
// gets: its template listed the MMLSpark package, which ferry cannot install.
var sparkWarnings = []Warning{
	{Line: 55, Path: "environment.spark.repositories", Value: "[https://mmlspark.azureedge.net/maven]"},
	{Line: 57, Path: "environment.spark.packages", Value: `[{group: com.microsoft.ml.spark, artifact: mmlspark_2.11, version: "0.12"}]`},
}

// templateSpark is what an hdinsight target reads from those files: the
// MMLSpark package and repository, the default deploy mode and the
// template's spark.configuration less its spark.app.name.
var templateSpark = &Spark{
	DeployMode: "cluster", DeployModeLine: 89, Conf: map[string]string{"spark.yarn.maxAppAttempts": "1"},
	Packages: []string{"com.microsoft.ml.spark:mmlspark_2.11:0.12"}, Repositories: []string{"https://mmlspark.azureedge.net/maven"},
}

// TestParseCompat parses every real .runconfig in testdata/aml and states
// the plan fields and warnings each one gives, then parses the conda file
// it names, resolved against its project directory.
func TestParseCompat(t *testing.T) {
	tests := []struct {
		file     string
		project  string // directory condaDependenciesFile is relative to
		want     RunConfig
		warnings []Warning
		conda    []string
		pip      []string
	}{
		{
			file:    "aml_config/local.runconfig",
			project: ".",
			want: RunConfig{
				Script: "train.py", Target: "local", Framework: "Python", Communicator: "None", NodeCount: 1, Spark: templateSpark,
				ProcessCountPerNode: 1, WorkerCount: one(), ParameterServerCount: one(),
				Env:         map[string]string{"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"},
				Interpreter: "python", CondaFile: "aml_config/conda_dependencies.yml",
				Docker: &Docker{Enabled: false, BaseImage: "mcr.microsoft.com/azureml/base:0.2.0"},
			},
			warnings: sparkWarnings,
			conda:    []string{"python=3.6.2"},
			pip:      []string{"azureml-defaults"},
		},
		{
			file:    "aml_config/docker.runconfig",
			project: ".",
			want: RunConfig{
				Script: "train.py", Target: "local", Framework: "PySpark", Communicator: "None", NodeCount: 1, Spark: templateSpark,
				ProcessCountPerNode: 1, WorkerCount: one(), ParameterServerCount: one(),
				Env:         map[string]string{"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"},
				Interpreter: "python", CondaFile: "aml_config/conda_dependencies.yml",
				Docker: &Docker{Enabled: true, BaseImage: "mcr.microsoft.com/azureml/base:0.2.0"},
			},
			warnings: append([]Warning{{Line: 8, Path: "framework", Value: "PySpark"}}, sparkWarnings...),
			conda:    []string{"python=3.6.2"},
			pip:      []string{"azureml-defaults"},
		},
		{
			file:    "azureml-cli/.azureml/aml_compute.runconfig",
			project: "azureml-cli",
			want: RunConfig{
				Script: "train.py", Target: "<put your compute target name here>", Framework: "Python", Communicator: "None", NodeCount: 1, Spark: templateSpark,
				ProcessCountPerNode: 1, WorkerCount: one(), ParameterServerCount: one(),
				Env:         map[string]string{"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"},
				Interpreter: "python", CondaFile: ".azureml/conda_dependencies.yml",
				Docker: &Docker{Enabled: true, BaseImage: "mcr.microsoft.com/azureml/base:0.2.1"},
			},
			warnings: append(slices.Clone(sparkWarnings), Warning{
				Line: 102, Path: "dataReferences.workspaceblobstore",
				Value: "{dataStoreName: workspacefilestore, pathOnDataStore: data, mode: mount, overwrite: false, pathOnCompute: ./}",
			}),
			conda: []string{"python=3.6.2"},
			pip:   []string{"azureml-defaults", "scikit-learn", "pandas"},
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
			rc, warnings, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			assertConfig(t, rc, &tt.want)
			// The template's distributed sections are Azure ML's defaults:
			// one process on one node.
			if d, err := rc.Distribution(Override{}); err != nil || d != (Distribution{Nodes: 1, ProcessesPerNode: 1}) {
				t.Errorf("Distribution = %+v, %v", d, err)
			}
			assertWarnings(t, warnings, tt.warnings)
			assertCondaFile(t, filepath.Join("testdata", "aml", tt.project), rc.CondaFile, tt.conda, tt.pip)
		})
	}
	files, _ := filepath.Glob("testdata/aml/*/*.runconfig")
	more, _ := filepath.Glob("testdata/aml/*/.azureml/*.runconfig")
	for _, f := range append(files, more...) {
		rel, _ := filepath.Rel("testdata/aml", f)
		if !seen[filepath.ToSlash(rel)] {
			t.Errorf("%s has no test case", f)
		}
	}
}

func one() *int { n := 1; return &n }

// assertConfig compares rc with want, treating nil and empty slices alike.
func assertConfig(t *testing.T, rc, want *RunConfig) {
	t.Helper()
	got := *rc
	if len(got.Arguments) == 0 {
		got.Arguments = nil
	}
	if got.Docker != nil && len(got.Docker.Arguments) == 0 {
		d := *got.Docker
		d.Arguments = nil
		got.Docker = &d
	}
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("config:\n got %+v docker %+v\nwant %+v docker %+v", got, got.Docker, *want, want.Docker)
	}
}

// assertWarnings compares the line, path and value of each warning, and
// checks every warning gives a reason.
func assertWarnings(t *testing.T, got, want []Warning) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d warnings, want %d: %v", len(got), len(want), got)
	}
	for i := range min(len(got), len(want)) {
		g := got[i]
		if g.Reason == "" {
			t.Errorf("warning %v has no reason", g)
		}
		g.Reason = ""
		if g != want[i] {
			t.Errorf("warning %d = %#v, want %#v", i, g, want[i])
		}
	}
}

// assertCondaFile parses the conda spec a run configuration names.
func assertCondaFile(t *testing.T, project, file string, wantConda, wantPip []string) {
	t.Helper()
	path := filepath.Join(project, filepath.FromSlash(file))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := conda.ParseSpec(data, filepath.Dir(path), nil)
	if err != nil {
		t.Fatalf("conda.ParseSpec(%s): %v", file, err)
	}
	if !slices.Equal(spec.Conda, wantConda) || !slices.Equal(spec.Pip, wantPip) {
		t.Errorf("%s: conda %q pip %q, want %q %q", file, spec.Conda, spec.Pip, wantConda, wantPip)
	}
}

// TestParseCompatMalformed breaks one line deep inside a real file and
// checks the error names that line, not the start of the enclosing block.
func TestParseCompatMalformed(t *testing.T) {
	data, err := os.ReadFile("testdata/aml/aml_config/local.runconfig")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	if lines[38] != "    sharedVolumes: true" {
		t.Fatalf("line 39 = %q; testdata changed?", lines[38])
	}
	lines[38] = "   sharedVolumes: true"
	_, _, err = Parse([]byte(strings.Join(lines, "\n")))
	var syntax *SyntaxError
	if !errors.As(err, &syntax) || syntax.Line != 39 {
		t.Fatalf("err = %v, want a SyntaxError at line 39", err)
	}
}
