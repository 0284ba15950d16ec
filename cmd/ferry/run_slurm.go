package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/spf13/pflag"
)

// distOptions are the multi-process flags of ferry run (Azure ML's
// nodeCount, processCountPerNode, framework/communicator).
type distOptions struct {
	NodeCount        int
	ProcessesPerNode int
	Distributed      string
	MasterPort       int
	// WorkerCount and ParameterServerCount come from a run
	// configuration's tensorflow section.
	WorkerCount          int
	ParameterServerCount int
	// Tasks is the process count when a run configuration's total leaves
	// the last node short (api.SlurmSpec.Tasks); 0 otherwise.
	Tasks int
	// source says where a node count came from, when a run
	// configuration set it (for the refusal on a single machine).
	source string
}

func (d *distOptions) addFlags(f *pflag.FlagSet) {
	f.IntVar(&d.NodeCount, "node-count", 1, "slurm targets: nodes for the run (Azure ML's nodeCount; overrides the run configuration's)")
	f.IntVar(&d.ProcessesPerNode, "process-count-per-node", 1, "slurm targets: processes per node (Azure ML's mpi.processCountPerNode; overrides the run configuration's)")
	f.StringVar(&d.Distributed, "distributed", "", "how processes are launched and told their rank: pytorch (MASTER_ADDR, RANK, ...), mpi (mpirun: OMPI_COMM_WORLD_*) or tensorflow (TF_CONFIG); overrides the run configuration's communicator and framework")
	f.IntVar(&d.MasterPort, "master-port", api.DefaultMasterPort, "MASTER_PORT of a distributed run")
}

// planSlurm checks the distributed settings against the target (Azure ML's
// rules) and returns a slurm target's SlurmSpec (nil for other targets).
func planSlurm(opts runOptions, target compute.Target) (*api.SlurmSpec, error) {
	d := opts.dist
	d.Distributed = strings.ToLower(d.Distributed)
	if err := d.check(); err != nil {
		return nil, err
	}
	if target.Type != compute.TypeSlurm {
		return nil, d.onOneMachine(target)
	}
	if opts.DockerImage != "" || opts.Dockerfile != "" || opts.env.DockerImage != "" || opts.env.DockerText != "" {
		return nil, &UserError{Msg: "docker environments do not run on slurm targets: ferry does not drive a container runtime through Slurm",
			Hint: "use --conda-file, --requirements or --python (a run configuration: set docker.enabled to false)"}
	}
	spec := &api.SlurmSpec{
		Nodes: d.NodeCount, ProcessesPerNode: d.ProcessesPerNode, Distributed: d.Distributed,
		MasterPort: d.MasterPort, Partition: target.Partition, Account: target.Account, QOS: target.QOS,
		WorkerCount: d.WorkerCount, ParameterServerCount: d.ParameterServerCount, Tasks: d.Tasks,
	}
	if opts.GPUs != "" && opts.GPUs != "0" {
		n, err := strconv.Atoi(opts.GPUs)
		if err != nil || n < 0 {
			return nil, usageError{fmt.Errorf("--gpus on a slurm target is a count per node (sbatch --gres=gpu:N), got %q", opts.GPUs)}
		}
		spec.GPUsPerNode = n
	}
	return spec, nil
}

// tfRoles describes a tensorflow run's split into workers and parameter
// servers for --dry-run ("" for other runs).
func tfRoles(s api.SlurmSpec) string {
	if s.Distributed != api.DistributedTensorFlow {
		return ""
	}
	w := s.WorkerCount
	if w <= 0 {
		w = s.Processes() - s.ParameterServerCount
	}
	return fmt.Sprintf(", %d worker(s) + %d parameter server(s)", w, s.ParameterServerCount)
}

// sourceNote names the run configuration that set the node count, if one
// did: " (FILE asks for nodeCount N)".
func (d distOptions) sourceNote() string {
	if d.source == "" {
		return ""
	}
	return " (" + d.source + ")"
}

// check applies Azure ML's rules to the settings alone: known mode, counts
// of at least 1, and a distributed mode for more than one process.
func (d distOptions) check() error {
	switch d.Distributed {
	case "", api.DistributedPyTorch, api.DistributedMPI, api.DistributedTensorFlow:
	default:
		return usageError{fmt.Errorf("--distributed %q: use pytorch, mpi or tensorflow", d.Distributed)}
	}
	if d.NodeCount < 1 || d.ProcessesPerNode < 1 {
		return usageError{fmt.Errorf("--node-count and --process-count-per-node must be at least 1")}
	}
	if d.MasterPort < 1 || d.MasterPort > 65535 {
		return usageError{fmt.Errorf("--master-port %d is out of range", d.MasterPort)}
	}
	if procs := d.processes(); procs > 1 && d.Distributed == "" {
		return &UserError{Msg: fmt.Sprintf("%d processes need a distributed mode", procs),
			Hint: "add --distributed pytorch, mpi or tensorflow (a run configuration: communicator or framework)"}
	}
	return nil
}

// onOneMachine refuses more than one process on a target that is not a
// Slurm cluster, saying why.
func (d distOptions) onOneMachine(target compute.Target) error {
	if d.processes() <= 1 {
		return nil
	}
	if target.Type == compute.TypeHDInsight {
		return &UserError{Msg: fmt.Sprintf("compute target %s (type hdinsight) runs one spark-submit, whose executors YARN places: it cannot run %d nodes x %d processes%s", target.Name, d.NodeCount, d.ProcessesPerNode, d.sourceNote()),
			Hint: "leave nodeCount at 1 and size the job with spark.configuration (spark.executor.instances, ...), or run on a slurm target"}
	}
	return &UserError{Msg: fmt.Sprintf("compute target %s (type %s) is a single machine: it cannot run %d nodes x %d processes%s", target.Name, target.Type, d.NodeCount, d.ProcessesPerNode, d.sourceNote()),
		Hint: "attach a Slurm cluster (ferry compute attach NAME --type slurm ...) for multi-node runs"}
}

// processes is the run's process count.
func (d distOptions) processes() int {
	if d.Tasks > 0 {
		return d.Tasks
	}
	return d.NodeCount * d.ProcessesPerNode
}

// lastShort says, for --dry-run, how many processes a run whose last node
// runs fewer has in all ("" for other runs).
func lastShort(s api.SlurmSpec) string {
	if s.Tasks <= 0 {
		return ""
	}
	return fmt.Sprintf(" (%d in all: the last node runs %d)", s.Tasks, s.Tasks-(s.Nodes-1)*s.ProcessesPerNode)
}
