package runconfig

import (
	"strings"
	"testing"
)

// TestDistribution covers how Azure ML's distributed fields, and the flags
// that override them, become nodes, processes per node and a launch mode.
func TestDistribution(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		o    Override
		want Distribution
		err  string
	}{
		{"defaults", "script: a.py\n", Override{}, Distribution{Nodes: 1, ProcessesPerNode: 1}, ""},
		{"nccl", "communicator: Nccl\nnodeCount: 2\n", Override{}, Distribution{Mode: ModePyTorch, Nodes: 2, ProcessesPerNode: 1}, ""},
		{"framework PyTorch with processCount", "framework: PyTorch\nnodeCount: 2\npytorch: {communicationBackend: gloo, processCount: 4}\n",
			Override{}, Distribution{Mode: ModePyTorch, Nodes: 2, ProcessesPerNode: 2}, ""},
		{"pytorch section alone", "pytorch: {processCount: 4, nodeCount: 2}\n", Override{}, Distribution{Mode: ModePyTorch, Nodes: 2, ProcessesPerNode: 2}, ""},
		{"mpi section nodeCount", "communicator: IntelMpi\nmpi: {processCountPerNode: 4, nodeCount: 3}\n", Override{},
			Distribution{Mode: ModeMPI, Nodes: 3, ProcessesPerNode: 4}, ""},
		{"openmpi ignores pytorch.processCount", "framework: PyTorch\ncommunicator: OpenMpi\nnodeCount: 2\nmpi: {processCountPerNode: 2}\npytorch: {processCount: 8}\n",
			Override{}, Distribution{Mode: ModeMPI, Nodes: 2, ProcessesPerNode: 2}, ""},
		{"tensorflow defaults", "framework: TensorFlow\ncommunicator: ParameterServer\nnodeCount: 2\n", Override{},
			Distribution{Mode: ModeTensorFlow, Nodes: 2, ProcessesPerNode: 1, WorkerCount: 1, ParameterServerCount: 1}, ""},
		{"tensorflow 3+1 on 2 nodes", "communicator: ParameterServer\nnodeCount: 2\ntensorflow: {workerCount: 3, parameterServerCount: 1}\n", Override{},
			Distribution{Mode: ModeTensorFlow, Nodes: 2, ProcessesPerNode: 2, WorkerCount: 3, ParameterServerCount: 1}, ""},
		{"tensorflow without communicator is one process", "framework: TensorFlow\ntensorflow: {workerCount: 4}\n", Override{},
			Distribution{Nodes: 1, ProcessesPerNode: 1}, ""},
		{"flag overrides nodes only", "communicator: OpenMpi\nnodeCount: 4\nmpi: {processCountPerNode: 2}\n", Override{Nodes: 2},
			Distribution{Mode: ModeMPI, Nodes: 2, ProcessesPerNode: 2}, ""},
		{"flag overrides mode only", "communicator: OpenMpi\nnodeCount: 2\nmpi: {processCountPerNode: 2}\n", Override{Mode: ModePyTorch},
			Distribution{Mode: ModePyTorch, Nodes: 2, ProcessesPerNode: 2}, ""},
		{"flag overrides processes", "communicator: Gloo\nnodeCount: 2\npytorch: {processCount: 8}\n", Override{ProcessesPerNode: 1},
			Distribution{Mode: ModePyTorch, Nodes: 2, ProcessesPerNode: 1}, ""},
		{"flag leaves tensorflow roles to other modes", "communicator: ParameterServer\nnodeCount: 2\n", Override{Mode: ModeMPI},
			Distribution{Mode: ModeMPI, Nodes: 2, ProcessesPerNode: 1}, ""},
		{"flag nodes re-spread tensorflow", "communicator: ParameterServer\nnodeCount: 2\ntensorflow: {workerCount: 3, parameterServerCount: 1}\n", Override{Nodes: 4},
			Distribution{Mode: ModeTensorFlow, Nodes: 4, ProcessesPerNode: 1, WorkerCount: 3, ParameterServerCount: 1}, ""},
		{"uneven pytorch", "communicator: Nccl\nnodeCount: 2\npytorch: {processCount: 3}\n", Override{},
			Distribution{Mode: ModePyTorch, Nodes: 2, ProcessesPerNode: 2, Tasks: 3}, ""},
		{"Azure ML's example: 2 workers + 1 ps on 2 nodes", "communicator: ParameterServer\nnodeCount: 2\ntensorflow: {workerCount: 2, parameterServerCount: 1}\n", Override{},
			Distribution{Mode: ModeTensorFlow, Nodes: 2, ProcessesPerNode: 2, WorkerCount: 2, ParameterServerCount: 1, Tasks: 3}, ""},
		{"a node would stay empty", "communicator: Nccl\nnodeCount: 4\npytorch: {processCount: 5}\n", Override{}, Distribution{},
			"pytorch.processCount (5) processes do not fit 4 node(s) x 2 process(es): ferry fills the nodes in order, and every node needs at least one"},
		{"tensorflow roles and flags disagree", "communicator: ParameterServer\nnodeCount: 2\n", Override{ProcessesPerNode: 2}, Distribution{},
			"tensorflow.workerCount + parameterServerCount (1 + 1) processes do not fit 2 node(s) x 2 process(es)"},
		{"tensorflow roles fill the flags' nodes", "communicator: ParameterServer\nnodeCount: 2\ntensorflow: {workerCount: 2}\n", Override{ProcessesPerNode: 2},
			Distribution{Mode: ModeTensorFlow, Nodes: 2, ProcessesPerNode: 2, WorkerCount: 2, ParameterServerCount: 1, Tasks: 3}, ""},
		{"tensorflow without workers", "communicator: ParameterServer\ntensorflow: {workerCount: 0}\n", Override{}, Distribution{},
			"tensorflow.workerCount must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, _, err := Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			got, err := rc.Distribution(tt.o)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Distribution = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
