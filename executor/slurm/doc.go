// Package slurm runs one ferry run as one Slurm batch job, from an executor
// on the cluster's login node.
//
// The runner writes a Job (job.json) into the run directory, on the shared
// root that every node mounts at the same path, and starts the driver,
// "ferry-executor slurm-job --run-dir D", under its usual shim. The driver:
//
//	writes D/job.sbatch (BatchScript) and runs `sbatch --parsable` (Submit)
//	polls squeue (Query) and records the job in D/slurm.json
//	on SIGTERM (ferry cancel, the time limit): scancel, again every 2 s while
//	the job still waits or runs (a failed scancel, a busy slurmctld), and
//	waits for the end (45 s at most; the shim gives the driver a minute)
//	once the job ended: reads every rank's exit record and exits with the
//	first failing rank's code, recording why in D/slurm.json
//
// The batch script exports the allocation's node list and MASTER_ADDR, then
// starts one "ferry-executor slurm-task" per process with srun (or mpirun, for
// --distributed mpi). Each task supervises its rank of the script like the
// shim does (subreaper, own process group, every escaped process killed when
// it ends or is signalled) and writes its exit record into D/ranks, so status
// works on clusters without accounting, where sacct is unusable.
//
// Nothing here needs cgroups: with proctrack/linuxproc, Slurm alone lets
// processes that left the task's tree survive scancel.
package slurm
