package slurm

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/ferry-ml/ferry/executor/api"
)

// Rank places one process of a run.
type Rank struct {
	Rank       int // 0..World-1
	World      int // processes in all
	Local      int // rank among the processes of its node
	LocalWorld int // processes on its node
	Node       int // the node's index in the allocation
}

// RankOf reads the process's place from the variables its launcher set:
// Open MPI's OMPI_COMM_WORLD_* (or PMI_RANK/PMI_SIZE) under mpirun, where
// SLURM_PROCID is 0 in every rank, else srun's SLURM_*.
func RankOf(spec api.SlurmSpec, getenv func(string) string) (Rank, error) {
	if spec.Distributed == api.DistributedMPI {
		if getenv("OMPI_COMM_WORLD_RANK") != "" {
			return ranks(getenv, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
				"OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE", "OMPI_COMM_WORLD_NODE_RANK", spec)
		}
		if getenv("PMI_RANK") != "" {
			return ranks(getenv, "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS", "", spec)
		}
	}
	return ranks(getenv, "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "", "SLURM_NODEID", spec)
}

// ranks reads a Rank from the named variables; a name left empty, or a
// variable not set, falls back to what the spec implies.
func ranks(getenv func(string) string, rank, world, local, localWorld, node string, spec api.SlurmSpec) (Rank, error) {
	r, err := strconv.Atoi(getenv(rank))
	if err != nil {
		return Rank{}, fmt.Errorf("read the process's rank: %s=%q", rank, getenv(rank))
	}
	ppn := max(spec.ProcessesPerNode, 1)
	out := Rank{Rank: r, World: spec.Processes(), Local: r % ppn, LocalWorld: ppn, Node: r / ppn}
	read := func(name string, dst *int) {
		if name == "" {
			return
		}
		if v, err := strconv.Atoi(getenv(name)); err == nil {
			*dst = v
		}
	}
	read(world, &out.World)
	read(local, &out.Local)
	read(node, &out.Node)
	// The last node of a run with Tasks set runs fewer than ppn.
	out.LocalWorld = min(ppn, max(out.World-out.Node*ppn, 1))
	read(localWorld, &out.LocalWorld)
	return out, nil
}

// CheckPlacement verifies that Slurm put a tensorflow run's rank r where
// its TF_CONFIG addresses say: on node r/ProcessesPerNode, in blocks. The
// other modes read their places from the launcher and need no check.
func CheckPlacement(spec api.SlurmSpec, r Rank) error {
	ppn := max(spec.ProcessesPerNode, 1)
	if spec.Distributed != api.DistributedTensorFlow {
		return nil
	}
	if r.Node != r.Rank/ppn || r.Local != r.Rank%ppn {
		return fmt.Errorf("Slurm placed rank %d on node %d as local rank %d; ferry expects node %d, local rank %d (blocks of %d per node)",
			r.Rank, r.Node, r.Local, r.Rank/ppn, r.Rank%ppn, ppn)
	}
	return nil
}

// DistributedEnv is the variables Azure ML set for rank r, so that a
// script written for Azure ML runs unchanged: MASTER_ADDR (the first node),
// MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK, NODE_RANK, LOCAL_WORLD_SIZE;
// for mpi also AZ_BATCH_MASTER_NODE; for tensorflow TF_CONFIG. nodes is the
// allocation's node list, first node first.
func DistributedEnv(spec api.SlurmSpec, r Rank, nodes []string) []string {
	master := "localhost"
	if len(nodes) > 0 {
		master = nodes[0]
	}
	port := strconv.Itoa(spec.Port())
	env := []string{
		"MASTER_ADDR=" + master,
		"MASTER_PORT=" + port,
		"WORLD_SIZE=" + strconv.Itoa(r.World),
		"RANK=" + strconv.Itoa(r.Rank),
		"LOCAL_RANK=" + strconv.Itoa(r.Local),
		"NODE_RANK=" + strconv.Itoa(r.Node),
		"LOCAL_WORLD_SIZE=" + strconv.Itoa(r.LocalWorld),
	}
	switch spec.Distributed {
	case api.DistributedMPI:
		env = append(env, "AZ_BATCH_MASTER_NODE="+net.JoinHostPort(master, port),
			"AZ_BATCHAI_MPI_MASTER_NODE="+master)
	case api.DistributedTensorFlow:
		env = append(env, "TF_CONFIG="+tfConfig(spec, r, nodes))
	}
	return env
}

// tfConfig is rank r's TF_CONFIG. Ranks 0..WorkerCount-1 are the workers
// (worker 0, rank 0, is the chief whose outputs come back), the rest the
// parameter servers; rank k listens on MASTER_PORT+1+local rank of its node.
func tfConfig(spec api.SlurmSpec, r Rank, nodes []string) string {
	workers := spec.WorkerCount
	if workers <= 0 {
		workers = spec.Processes() - spec.ParameterServerCount
	}
	cluster := map[string][]string{"worker": nil}
	for k := 0; k < spec.Processes(); k++ {
		kind := "worker"
		if k >= workers {
			kind = "ps"
		}
		cluster[kind] = append(cluster[kind], taskAddr(spec, k, nodes))
	}
	task := map[string]any{"type": "worker", "index": r.Rank}
	if r.Rank >= workers {
		task = map[string]any{"type": "ps", "index": r.Rank - workers}
	}
	data, _ := json.Marshal(map[string]any{"cluster": cluster, "task": task, "environment": "cloud"})
	return string(data)
}

// taskAddr is where rank k listens: srun places ranks in blocks of
// ProcessesPerNode per node.
func taskAddr(spec api.SlurmSpec, k int, nodes []string) string {
	ppn := max(spec.ProcessesPerNode, 1)
	host := "localhost"
	if i := k / ppn; i < len(nodes) {
		host = nodes[i]
	}
	return net.JoinHostPort(host, strconv.Itoa(spec.Port()+1+k%ppn))
}

// NodeList splits FERRY_NODELIST, which the batch script exports.
func NodeList(v string) []string {
	var out []string
	for _, n := range strings.Split(v, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}
