package runconfig

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/conda"
)

// TestParseWarnings checks that each field ferry cannot honour warns when
// set, naming its path and value, and stays silent at its default.
func TestParseWarnings(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []Warning // Line, Path and Value
	}{
		{"defaults are silent", `script: a.py
framework: python
communicator: None
nodeCount: 1
priority:
credentialPassthrough: false
command: []
environment:
  spark: {repositories: [], packages: [], precachePackages: false}
  databricks: {mavenLibraries: [], pypiLibraries: []}
  docker:
    sharedVolumes: true
    platform: {os: Linux, architecture: amd64}
    baseImageRegistry: {address: null, username: , password: ~}
history: {outputCollection: true, snapshotProject: true, directoriesToWatch: [logs]}
spark: {configuration: {spark.app.name: Azure ML Experiment, spark.yarn.maxAppAttempts: 1}}
hdi: {yarnDeployMode: Cluster}
tensorflow: {workerCount: 1, parameterServerCount: 1}
mpi: {processCountPerNode: 1, nodeCount: 1}
pytorch: {communicationBackend: nccl, processCount: , nodeCount: 1}
paralleltask: {maxRetriesPerWorker: 0, workerCountPerNode: 1, terminalExitCodes: }
dataReferences: {}
data: {}
datacaches: []
outputData: {}
sourceDirectoryDataStore:
amlcompute: {vmSize: , vmPriority: , retainCluster: false, name: , clusterMaxNodeCount: }
kubernetescompute: {instanceType: }
applicationEndpoints: {}
`, nil},
		{"framework", "framework: CNTK\n", []Warning{{1, "framework", "CNTK", ""}}},
		{"distributed fields are honoured", "framework: TensorFlow\ncommunicator: ParameterServer\nnodeCount: 4\ntensorflow: {workerCount: 3, parameterServerCount: 1}\n", nil},
		{"fields the mode does not use", "communicator: Nccl\nmpi: {processCountPerNode: 4}\ntensorflow:\n  workerCount: 2\n  parameter_server_count: 0\n", []Warning{
			{2, "mpi.processCountPerNode", "4", ""}, {4, "tensorflow.workerCount", "2", ""}, {5, "tensorflow.parameter_server_count", "0", ""}}},
		{"amlcompute", "amlcompute:\n  vmSize: STANDARD_NC6\n  retainCluster: true\n", []Warning{
			{2, "amlcompute.vmSize", "STANDARD_NC6", ""}, {3, "amlcompute.retainCluster", "true", ""}}},
		{"databricks", "environment:\n  databricks:\n    pypiLibraries: [{package: x}]\n", []Warning{
			{3, "environment.databricks.pypiLibraries", "[{package: x}]", ""}}},
		{"data", "data:\n  train: {dataLocation: {dataset: {id: abc}}, mechanism: mount}\n", []Warning{
			{2, "data.train", "{dataLocation: {dataset: {id: abc}}, mechanism: mount}", ""}}},
		{"spark conf", "spark:\n  configuration: {spark.executor.memory: 4g}\n", []Warning{
			{2, "spark.configuration", "{spark.executor.memory: 4g}", ""}}},
		{"mpi", "mpi: {processCountPerNode: 4}\n", []Warning{{1, "mpi.processCountPerNode", "4", ""}}},
		{"history", "history:\n  outputCollection: false\n  directoriesToWatch: [logs, out]\n", []Warning{
			{2, "history.outputCollection", "false", ""}, {3, "history.directoriesToWatch", "[logs, out]", ""}}},
		{"registry", "environment:\n  docker:\n    baseImageRegistry:\n      address: myacr.azurecr.io\n", []Warning{
			{4, "environment.docker.baseImageRegistry.address", "myacr.azurecr.io", ""}}},
		{"unknown top-level", "scirpt: a.py\n", []Warning{{1, "scirpt", "a.py", ""}}},
		{"unknown nested", "environment:\n  python:\n    interpreter: /usr/bin/python3\n", []Warning{
			{3, "environment.python.interpreter", "/usr/bin/python3", ""}}},
		{"unknown null", "extra:\n", []Warning{{1, "extra", "null", ""}}},
		{"command", "command: [python, train.py]\n", []Warning{{1, "command", "[python, train.py]", ""}}},
		{"long value", "extra: [" + strings.Repeat("abcdefghij, ", 20) + "]\n", []Warning{
			{1, "extra", "[" + strings.Repeat("abcdefghij, ", 14)[:159] + "...", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, warnings, err := Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			assertWarnings(t, warnings, tt.want)
		})
	}
}

func TestWarningString(t *testing.T) {
	w := Warning{Line: 3, Path: "nodeCount", Value: "4", Reason: "ferry runs on one node; running on one"}
	if got, want := w.String(), "line 3: nodeCount = 4: ferry runs on one node; running on one"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestParseFields covers the honoured fields the compat files leave at
// their defaults, and newer SDK layouts.
func TestParseFields(t *testing.T) {
	const file = `script: train.py
arguments: [--epochs, 10, --lr, 1e-3, --amp, true, --name, '010']
target: gpu-box
maxRunDurationSeconds: 3600
nodeCount: 1
environmentVariables: {RUN_LEVEL: run, SHARED: from-run}
environment:
  environmentVariables: {SHARED: from-env, THREADS: 8, FLAG: True}
  python:
    userManagedDependencies: true
    interpreter_path: /opt/py/bin/python
    condaDependencies:
      name: inline
      channels: [conda-forge]
      dependencies:
      - python=3.10
      - pip: [torch==2.2.0]
  docker:
    enabled: false
    baseImage:
    baseDockerfile: |
      FROM ubuntu:22.04
      RUN apt-get update
    gpuSupport: true
    arguments: [--ipc=host]
    shmSize: 2g
docker:
  useDocker: true
  shmSize: 16g
`
	rc, warnings, err := Parse([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %v", warnings)
	}
	if want := []string{"--epochs", "10", "--lr", "0.001", "--amp", "True", "--name", "010"}; !slices.Equal(rc.Arguments, want) {
		t.Errorf("arguments = %q, want %q", rc.Arguments, want)
	}
	if rc.Script != "train.py" || rc.Target != "gpu-box" || rc.MaxDuration != time.Hour || !rc.UserManaged || rc.Interpreter != "/opt/py/bin/python" {
		t.Errorf("config = %+v", rc)
	}
	wantEnv := map[string]string{"RUN_LEVEL": "run", "SHARED": "from-run", "THREADS": "8", "FLAG": "True"}
	if !maps.Equal(rc.Env, wantEnv) {
		t.Errorf("env = %v, want %v", rc.Env, wantEnv)
	}
	d := rc.Docker
	if d == nil || !d.Enabled || !d.GPU || d.ShmSize != "16g" || d.BaseImage != "" ||
		d.Dockerfile != "FROM ubuntu:22.04\nRUN apt-get update\n" || !slices.Equal(d.Arguments, []string{"--ipc=host"}) {
		t.Errorf("docker = %+v", d)
	}
	spec, err := conda.ParseSpec(rc.CondaSpec, ".", nil)
	if err != nil {
		t.Fatalf("inline conda spec: %v\n%s", err, rc.CondaSpec)
	}
	if spec.Name != "inline" || spec.Python != "3.10" || !slices.Equal(spec.Pip, []string{"torch==2.2.0"}) || !slices.Equal(spec.Channels, []string{"conda-forge"}) {
		t.Errorf("inline spec = %+v", spec)
	}
}

func TestParseDefaults(t *testing.T) {
	rc, warnings, err := Parse([]byte("script: a.py\n"))
	if err != nil || len(warnings) != 0 {
		t.Fatal(err, warnings)
	}
	want := RunConfig{Script: "a.py", Interpreter: "python", NodeCount: 1, Framework: "Python", Communicator: "None"}
	assertConfig(t, rc, &want)
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"syntax", "script: a.py\narguments: [a, b\ntarget: local\n", "line 2: invalid YAML (did not find expected ',' or ']')"},
		{"bad indent", "environment:\n  python:\n    interpreterPath: python\n   docker: {}\n", "line 4: invalid YAML (did not find expected key)"},
		{"arguments not a list", "script: a.py\narguments: --lr 0.1\n", `line 2: arguments must be a list, got "--lr 0.1"`},
		{"argument a mapping", "arguments:\n- {a: b}\n", "line 2: arguments entries must be strings or numbers, got a mapping"},
		{"nodeCount text", "nodeCount: two\n", `line 1: nodeCount must be a non-negative integer, got "two"`},
		{"nodeCount zero", "nodeCount: 0\n", "line 1: nodeCount must be at least 1"},
		{"communicator unknown", "communicator: Horovod\n", `line 1: communicator "Horovod" is not one of None, Nccl, Gloo, OpenMpi, IntelMpi, ParameterServer`},
		{"processCountPerNode zero", "mpi: {processCountPerNode: 0}\n", "line 1: mpi.processCountPerNode must be at least 1"},
		{"section nodeCount disagrees", "nodeCount: 2\npytorch:\n  nodeCount: 3\n", "line 3: pytorch.nodeCount (3) and nodeCount (2) disagree"},
		{"duration float", "maxRunDurationSeconds: 1.5\n", "line 1: maxRunDurationSeconds must be a non-negative integer"},
		{"bool", "environment:\n  python:\n    userManagedDependencies: yes\n", `line 3: environment.python.userManagedDependencies must be true or false, got "yes"`},
		{"section scalar", "environment:\n  docker: true\n", "line 2: environment.docker must be a mapping, got \"true\""},
		{"env nested", "environment:\n  environmentVariables:\n    A: [1]\n", "line 3: environment.environmentVariables.A must be a string, got a list"},
		{"duplicate", "script: a.py\nscript: b.py\n", `line 2: duplicate key "script" (first at line 1)`},
		{"not a mapping", "- script\n", "line 1: run configuration must be a mapping, got a list"},
		{"empty", "# nothing\n", "line 1: empty run configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			var syntax *SyntaxError
			var parse *ParseError
			if !errors.As(err, &syntax) && !errors.As(err, &parse) {
				t.Errorf("err %T is neither a SyntaxError nor a ParseError", err)
			}
		})
	}
}

func TestInit(t *testing.T) {
	rc, warnings, err := Parse(Init())
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("Init() gives warnings: %v", warnings)
	}
	want := RunConfig{
		Script: "train.py", Target: "local", Interpreter: "python3", UserManaged: true,
		NodeCount: 1, Framework: "Python", Communicator: "None", Env: map[string]string{},
		Docker: &Docker{},
	}
	assertConfig(t, rc, &want)
	if !strings.Contains(string(Init()), "# ") {
		t.Error("Init() has no comments")
	}
}
