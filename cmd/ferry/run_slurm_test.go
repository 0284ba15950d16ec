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

// TestPlanSlurmRefusals: a run configuration's docker environment on a
// slurm target, and several processes on an hdinsight target, are refused
// with the reason before anything is recorded.
func TestPlanSlurmRefusals(t *testing.T) {
	opts := runOptions{}
	opts.dist = distOptions{NodeCount: 1, ProcessesPerNode: 1, MasterPort: 6105}
	opts.env.DockerImage = "mcr.microsoft.com/azureml/base:0.2.1"
	_, err := planSlurm(opts, compute.Target{Name: "hpc", Type: compute.TypeSlurm})
	var ue *UserError
	if !errors.As(err, &ue) || !strings.Contains(ue.Msg, "docker environments do not run on slurm targets") {
		t.Errorf("runconfig docker on slurm: %v", err)
	}
	opts.env.DockerImage = ""
	opts.dist.NodeCount, opts.dist.Distributed = 2, "pytorch"
	_, err = planSlurm(opts, compute.Target{Name: "hdi", Type: compute.TypeHDInsight})
	if !errors.As(err, &ue) || !strings.Contains(ue.Msg, "runs one spark-submit") {
		t.Errorf("2 nodes on hdinsight: %v", err)
	}
	opts.dist.Distributed = ""
	if _, err = planSlurm(opts, compute.Target{Name: "hpc", Type: compute.TypeSlurm}); !errors.As(err, &ue) || !strings.Contains(ue.Msg, "2 processes need a distributed mode") {
		t.Errorf("2 nodes without a mode: %v", err)
	}
}
