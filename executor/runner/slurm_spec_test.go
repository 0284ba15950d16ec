package runner

import (
	"errors"
	"testing"

	"github.com/ferry-ml/ferry/executor/api"
)

// TestValidateSlurmTasks: fewer tasks than nodes x per node is accepted
// only when the last node keeps at least one.
func TestValidateSlurmTasks(t *testing.T) {
	for _, tt := range []struct {
		tasks int
		ok    bool
	}{{0, true}, {3, true}, {4, true}, {2, false}, {5, false}} {
		spec := api.RunSpec{ID: "exp_1_ab", Script: "a.py", Snapshot: "s",
			Slurm: &api.SlurmSpec{Nodes: 2, ProcessesPerNode: 2, Tasks: tt.tasks, Distributed: api.DistributedTensorFlow}}
		err := validateSpec(spec)
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("%d tasks on 2 nodes x 2: %v", tt.tasks, err)
		}
	}
}
