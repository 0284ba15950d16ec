package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/agent/compute"
)

// slurmTarget checks the slurm-only attach flags and puts the shared root
// where the executor's state goes.
func slurmTarget(t *compute.Target, opts attachOptions) error {
	if t.Type != compute.TypeSlurm {
		if opts.SharedRoot != "" || t.Partition != "" || t.Account != "" || t.QOS != "" {
			return usageError{errors.New("--shared-root, --partition, --account and --qos are for --type slurm")}
		}
		return nil
	}
	if opts.SharedRoot == "" {
		return usageError{errors.New("--type slurm needs --shared-root DIR: a directory that every node of the cluster mounts at the same path")}
	}
	if t.StateDir != "" && t.StateDir != opts.SharedRoot {
		return usageError{errors.New("a slurm target keeps its state under --shared-root; leave out --state-dir")}
	}
	t.StateDir = strings.TrimRight(opts.SharedRoot, "/")
	return nil
}

// checkSharedRoot proves, for a slurm target, that a compute node sees what
// the login node writes under the shared root.
func checkSharedRoot(ctx context.Context, conn *agent.Conn) error {
	if conn.Target.Type != compute.TypeSlurm {
		return nil
	}
	f, err := agent.ProbeSlurm(ctx, conn.Shell(), conn.Target)
	if err != nil {
		return fmt.Errorf("check slurm cluster: %w", err)
	}
	if !f.Shared {
		return &UserError{Msg: "shared root check failed: " + f.SharedError,
			Hint: "pass --shared-root a directory that the login node and every compute node mount at the same path"}
	}
	return nil
}

// slurmRows are ferry compute check's lines about a Slurm cluster.
func slurmRows(f *agent.SlurmFacts, row func(k, v string)) {
	row("slurm", orDefault(f.Version, "not found (sinfo is not on the login node's PATH)"))
	for _, n := range f.Nodes {
		row("  node "+n.Name, fmt.Sprintf("partition %s, %s, %s CPUs, %s MB, gres %s", n.Partition, n.State, n.CPUs, n.MemoryMB, n.Gres))
	}
	if f.Shared {
		row("shared root", fmt.Sprintf("%s (read back from compute node %s)", f.SharedRoot, f.SharedNode))
	} else {
		row("shared root", "NOT SHARED: "+f.SharedError)
	}
}
