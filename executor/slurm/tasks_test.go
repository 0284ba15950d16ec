package slurm

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/executor/api"
)

// TestFewerTasksThanSlots: Azure ML's own example, 2 workers and 1
// parameter server on 2 nodes, runs as 3 tasks in blocks of 2: sbatch and
// srun get --ntasks, the last node's task sees LOCAL_WORLD_SIZE 1, and
// TF_CONFIG places the ps alone on the second node.
func TestFewerTasksThanSlots(t *testing.T) {
	j := testJob()
	j.Spec = api.SlurmSpec{Nodes: 2, ProcessesPerNode: 2, Tasks: 3, Distributed: api.DistributedTensorFlow, WorkerCount: 2, ParameterServerCount: 1}
	if args := SbatchArgs(j); !contains(args, "--ntasks=3") || !contains(args, "--ntasks-per-node=2") {
		t.Errorf("sbatch args %q lack --ntasks=3", args)
	}
	if s := BatchScript(j); !strings.Contains(s, "srun --kill-on-bad-exit=1 --nodes=2 --ntasks-per-node=2 --ntasks=3 --distribution=block ") {
		t.Errorf("batch script:\n%s", s)
	}
	env := map[string]string{"SLURM_PROCID": "2", "SLURM_NTASKS": "3", "SLURM_LOCALID": "0", "SLURM_NODEID": "1"}
	r, err := RankOf(j.Spec, func(k string) string { return env[k] })
	if err != nil || r != (Rank{Rank: 2, World: 3, Local: 0, LocalWorld: 1, Node: 1}) {
		t.Fatalf("RankOf = %+v, %v", r, err)
	}
	if err := CheckPlacement(j.Spec, r); err != nil {
		t.Errorf("CheckPlacement: %v", err)
	}
	var cfg struct {
		Cluster map[string][]string `json:"cluster"`
		Task    map[string]any      `json:"task"`
	}
	if err := json.Unmarshal([]byte(tfConfig(j.Spec, r, []string{"c1", "c2"})), &cfg); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Cluster, map[string][]string{"worker": {"c1:6106", "c1:6107"}, "ps": {"c2:6106"}}) ||
		cfg.Task["type"] != "ps" || cfg.Task["index"] != 0.0 {
		t.Errorf("TF_CONFIG = %+v", cfg)
	}
	// A cluster that placed the ranks otherwise (cyclic) is caught.
	err = CheckPlacement(j.Spec, Rank{Rank: 1, World: 3, Local: 0, Node: 1})
	if err == nil || !strings.Contains(err.Error(), "Slurm placed rank 1 on node 1 as local rank 0; ferry expects node 0, local rank 1") {
		t.Errorf("CheckPlacement of a cyclic placement: %v", err)
	}
}
