package slurm

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Validate asks Slurm whether it would accept j, without submitting
// anything (`sbatch --test-only`). A refusal comes back as an *Error with
// sbatch's own message word for word, followed by what sinfo says about
// the partitions when that helps: the valid partition names for an unknown
// one, the partition's node counts for a request too large.
func Validate(ctx context.Context, run CommandFunc, j Job) error {
	var args []string
	for _, a := range SbatchArgs(j) {
		if a == "--parsable" || strings.HasPrefix(a, "--chdir=") || strings.HasPrefix(a, "--output=") {
			continue
		}
		args = append(args, a)
	}
	args = append(args, "--test-only", "--output=/dev/null", "--wrap=true")
	stdout, stderr, err := run(ctx, "", "sbatch", args...)
	if err == nil {
		return nil
	}
	err = commandError("sbatch", stdout, stderr, err)
	var se *Error
	if !errors.As(err, &se) {
		return err
	}
	if hint := refusalHint(ctx, run, j, se.Message); hint != "" {
		se.Message += "\n" + hint
	}
	return se
}

// refusalHint explains an sbatch refusal with sinfo's view of the cluster.
func refusalHint(ctx context.Context, run CommandFunc, j Job, msg string) string {
	switch {
	case strings.Contains(msg, "Invalid partition"):
		out, _, err := run(ctx, "", "sinfo", "-h", "-o", "%P")
		if err != nil {
			return ""
		}
		return "valid partitions: " + strings.Join(strings.Fields(string(out)), ", ") + " (* marks the default)"
	case strings.Contains(msg, "Node count"), strings.Contains(msg, "processors"),
		strings.Contains(msg, "node configuration"), strings.Contains(msg, "Too many"):
		return partitionCounts(ctx, run, j.Spec.Partition)
	}
	return ""
}

// partitionCounts describes the partition's nodes as sinfo counts them.
func partitionCounts(ctx context.Context, run CommandFunc, partition string) string {
	args := []string{"-h", "-o", "%P|%F|%c|%m|%G"}
	if partition != "" {
		args = append(args, "-p", partition)
	}
	out, _, err := run(ctx, "", "sinfo", args...)
	if err != nil {
		return ""
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		if len(f) < 5 {
			continue
		}
		c := strings.Split(f[1], "/") // allocated/idle/other/total
		if len(c) != 4 {
			continue
		}
		lines = append(lines, fmt.Sprintf("partition %s: %s nodes (%s idle, %s allocated, %s other), %s CPUs and %s MB per node, gres %s",
			f[0], c[3], c[1], c[0], c[2], f[2], f[3], f[4]))
	}
	return strings.Join(lines, "\n")
}
