package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/runconfig"
)

// TestRunConfigDistribution: the file's distributed settings fill the
// options the command line left alone; a single-machine target refuses the
// result, naming the file.
func TestRunConfigDistribution(t *testing.T) {
	rc, _, err := runconfig.Parse([]byte("communicator: ParameterServer\nnodeCount: 2\ntensorflow: {workerCount: 3, parameterServerCount: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	opts := runOptions{RunConfig: "aml_config/tf.runconfig"}
	opts.dist = distOptions{NodeCount: 1, ProcessesPerNode: 1, Distributed: "", MasterPort: 7000}
	changed := func(name string) bool { return name == "master-port" }
	if err := runConfigDistribution(&opts, rc, changed); err != nil {
		t.Fatal(err)
	}
	d := opts.dist
	if d.NodeCount != 2 || d.ProcessesPerNode != 2 || d.Distributed != "tensorflow" || d.WorkerCount != 3 || d.ParameterServerCount != 1 || d.MasterPort != 7000 {
		t.Fatalf("dist = %+v", d)
	}
	spec, err := planSlurm(opts, compute.Target{Name: "hpc", Type: compute.TypeSlurm})
	if err != nil || spec.Processes() != 4 || tfRoles(*spec) != ", 3 worker(s) + 1 parameter server(s)" {
		t.Fatalf("planSlurm = %+v, %v", spec, err)
	}
	_, err = planSlurm(opts, compute.Target{Name: "local", Type: compute.TypeLocal})
	var ue *UserError
	if !errors.As(err, &ue) || !strings.Contains(ue.Msg, "is a single machine") || !strings.Contains(ue.Msg, "aml_config/tf.runconfig asks for nodeCount 2") {
		t.Fatalf("on local: %v", err)
	}

	opts.dist = distOptions{NodeCount: 0, ProcessesPerNode: 1}
	if err := runConfigDistribution(&opts, rc, func(n string) bool { return n == "node-count" }); err == nil {
		t.Error("--node-count 0 was accepted")
	}
}
