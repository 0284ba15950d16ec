package slurm

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
)

// SbatchArgs is the argument list of `sbatch` for j, without the script:
// --job-name is the run id, and every placement option comes from the spec.
func SbatchArgs(j Job) []string {
	s := j.Spec
	args := []string{
		"--parsable",
		"--job-name=" + j.RunID,
		"--nodes=" + strconv.Itoa(s.Nodes),
		"--ntasks-per-node=" + strconv.Itoa(s.ProcessesPerNode),
		"--chdir=" + j.Work,
		"--output=" + filepath.Join(j.Dir, outputFile),
		// A job on a failed node must end Failed, not run a second time.
		"--no-requeue",
	}
	if s.Tasks > 0 {
		args = append(args, "--ntasks="+strconv.Itoa(s.Tasks))
	}
	args = appendOpt(args, "--partition", s.Partition)
	args = appendOpt(args, "--account", s.Account)
	args = appendOpt(args, "--qos", s.QOS)
	if j.MaxDuration > 0 {
		args = append(args, "--time="+slurmDuration(j.MaxDuration))
	}
	if s.GPUsPerNode > 0 {
		args = append(args, "--gres=gpu:"+strconv.Itoa(s.GPUsPerNode))
	}
	return args
}

func appendOpt(args []string, name, value string) []string {
	if value == "" {
		return args
	}
	return append(args, name+"="+value)
}

// slurmDuration formats d as Slurm's days-hours:minutes:seconds, rounded up
// to a whole minute (Slurm's resolution).
func slurmDuration(d time.Duration) string {
	mins := int64((d + time.Minute - 1) / time.Minute)
	return fmt.Sprintf("%d-%02d:%02d:00", mins/(24*60), mins/60%24, mins%60)
}

// BatchScript is the batch script of j. It runs on the allocation's first
// node: it exports the node list (FERRY_NODELIST, comma-separated) and
// MASTER_ADDR (the first node), starts one task per process and records
// the launcher's exit status in batch.exit.
func BatchScript(j Job) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n# ferry run %s: written by ferry-executor; not for editing.\n", j.RunID)
	b.WriteString(`nodes=$(scontrol show hostnames "$SLURM_JOB_NODELIST" 2>/dev/null | paste -sd, -)
[ -n "$nodes" ] || nodes=$(hostname)
FERRY_NODELIST=$nodes
MASTER_ADDR=${nodes%%,*}
export FERRY_NODELIST MASTER_ADDR
`)
	b.WriteString(ShellQuote(launcher(j)...) + "\n")
	exit := filepath.Join(j.Dir, BatchExit)
	fmt.Fprintf(&b, "rc=$?\nprintf '%%s\\n' \"$rc\" >%s.tmp && mv -f %s.tmp %s\nexit $rc\n",
		ShellQuote(exit), ShellQuote(exit), ShellQuote(exit))
	return b.String()
}

// launcher is the command that starts every task: mpirun inside the
// allocation for mpi (so that Open MPI sets OMPI_COMM_WORLD_*), else srun.
func launcher(j Job) []string {
	s := j.Spec
	task := []string{j.Executable, "slurm-task", "--run-dir", j.Dir}
	if s.Distributed == api.DistributedMPI {
		return append([]string{"mpirun", "-np", strconv.Itoa(s.Processes()),
			"--map-by", "ppr:" + strconv.Itoa(s.ProcessesPerNode) + ":node", "--bind-to", "none"}, task...)
	}
	// --kill-on-bad-exit: a rank that fails ends the others rather than
	// leaving them waiting for a peer that is gone.
	srun := []string{"srun", "--kill-on-bad-exit=1",
		"--nodes=" + strconv.Itoa(s.Nodes), "--ntasks-per-node=" + strconv.Itoa(s.ProcessesPerNode)}
	if s.Tasks > 0 {
		// Fewer tasks than nodes x per node: block places ranks 0..ppn-1 on
		// the first node, and so on, as DistributedEnv assumes.
		srun = append(srun, "--ntasks="+strconv.Itoa(s.Tasks), "--distribution=block")
	}
	return append(srun, task...)
}

// ShellQuote joins args into one POSIX shell command line, each argument
// single-quoted unless it is made of safe characters only.
func ShellQuote(args ...string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = quoteArg(a)
	}
	return strings.Join(out, " ")
}

func quoteArg(a string) string {
	if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,%+") == "" {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}
