package api

// SlurmSpec makes a run one Slurm batch job on the cluster whose login node
// runs the executor: the executor submits it with `sbatch --parsable` and
// tracks it with squeue, and every task runs the script once.
type SlurmSpec struct {
	// Nodes is sbatch --nodes; ProcessesPerNode is --ntasks-per-node.
	Nodes            int `json:"nodes"`
	ProcessesPerNode int `json:"processes_per_node"`
	// Distributed is "" (one process in all), "pytorch", "mpi" or
	// "tensorflow": how the processes are launched and which variables
	// (Azure ML's) each one gets.
	Distributed string `json:"distributed,omitempty"`
	// MasterPort is MASTER_PORT; 0 means DefaultMasterPort.
	MasterPort int `json:"master_port,omitempty"`
	// Tasks, when above zero, is the run's process count where it is less
	// than Nodes x ProcessesPerNode (sbatch --ntasks): ProcessesPerNode is
	// then the most on one node, ranks fill the nodes in order, and the
	// last node runs fewer, but at least one.
	Tasks int `json:"tasks,omitempty"`
	// WorkerCount and ParameterServerCount split a tensorflow run's
	// processes (ranks 0..WorkerCount-1 are workers, the rest ps).
	WorkerCount          int `json:"worker_count,omitempty"`
	ParameterServerCount int `json:"parameter_server_count,omitempty"`
	// Partition, Account and QOS are passed to sbatch when set.
	Partition string `json:"partition,omitempty"`
	Account   string `json:"account,omitempty"`
	QOS       string `json:"qos,omitempty"`
	// GPUsPerNode is sbatch --gres=gpu:N when above zero.
	GPUsPerNode int `json:"gpus_per_node,omitempty"`
}

// Distributed launch modes of SlurmSpec.Distributed.
const (
	DistributedPyTorch    = "pytorch"
	DistributedMPI        = "mpi"
	DistributedTensorFlow = "tensorflow"
)

// DefaultMasterPort is Azure ML's MASTER_PORT.
const DefaultMasterPort = 6105

// Processes is the run's process (rank) count.
func (s SlurmSpec) Processes() int {
	if s.Tasks > 0 {
		return s.Tasks
	}
	return s.Nodes * s.ProcessesPerNode
}

// Port is MasterPort or DefaultMasterPort.
func (s SlurmSpec) Port() int {
	if s.MasterPort > 0 {
		return s.MasterPort
	}
	return DefaultMasterPort
}

// SlurmJob is a slurm run's batch job as the executor last saw it.
type SlurmJob struct {
	ID string `json:"id,omitempty"` // empty until sbatch answered
	// State is squeue's state word (PENDING, RUNNING, COMPLETED,
	// NODE_FAIL, ...); "SUBMITTING" before sbatch answered.
	State string `json:"state"`
	// Reason is squeue's reason for a pending job (Resources, Priority),
	// or, once ended, why the run failed in words.
	Reason string `json:"reason,omitempty"`
	// Nodes is the job's node list once it runs (c[1-2]).
	Nodes string `json:"nodes,omitempty"`
	// FailedRank is the lowest rank that ended non-zero, if any.
	FailedRank *int `json:"failed_rank,omitempty"`
}
