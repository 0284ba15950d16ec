package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rendezvousPy is a stdlib-only pytorch-style job: rank 0 listens at
// MASTER_ADDR:MASTER_PORT, every other rank connects and sends its rank and
// its WORLD_SIZE; rank 0 prints what it gathered.
const rendezvousPy = `import os, socket, time
import ferry_run
r, w = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
addr, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
print(f"rank {r}/{w} host {socket.gethostname()} local {os.environ['LOCAL_RANK']}/{os.environ['LOCAL_WORLD_SIZE']} node {os.environ['NODE_RANK']}", flush=True)
if r == 0:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", port)); s.listen(w)
    got = []
    for _ in range(w - 1):
        c, _ = s.accept(); got.append(c.recv(64).decode())
    print("gathered", " ".join(sorted(got)), flush=True)
    os.makedirs("outputs", exist_ok=True)
    open("outputs/result.txt", "w").write("world %d\n" % w)
else:
    for _ in range(300):
        try:
            c = socket.create_connection((addr, port)); break
        except OSError:
            time.sleep(0.1)
    c.sendall(f"{r}:{w}".encode())
ferry_run.log("rank_metric", r)
`

func writeProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSlurmPyTorchRendezvous(t *testing.T) {
	c := newCLI(t)
	needSlurm(t, c)
	dir := writeProject(t, map[string]string{"train.py": rendezvousPy})
	r := c.mustRun(dir, "run", "--compute", "hpc", "--node-count", "2", "--process-count-per-node", "2",
		"--distributed", "pytorch", "--master-port", "29511", "train.py")
	if !strings.Contains(r.Stdout, "gathered 1:4 2:4 3:4") {
		t.Fatalf("rank 0 did not gather every rank with WORLD_SIZE 4:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stdout, "rank 0/4 host c1 local 0/2 node 0") {
		t.Fatalf("rank 0's line missing:\n%s", r.Stdout)
	}
	id := lastRunID(t, c, dir)
	all := c.mustRun(dir, "logs", id, "--all-ranks").Stdout
	for _, want := range []string{"[rank 0] rank 0/4 host c1", "[rank 1] rank 1/4 host c1 local 1/2 node 0",
		"[rank 2] rank 2/4 host c2 local 0/2 node 1", "[rank 3] rank 3/4 host c2 local 1/2 node 1"} {
		if !strings.Contains(all, want) {
			t.Errorf("logs --all-ranks lacks %q:\n%s", want, all)
		}
	}
	if got := c.mustRun(dir, "logs", id, "--rank", "3").Stdout; got != "rank 3/4 host c2 local 1/2 node 1\n" {
		t.Errorf("logs --rank 3 = %q", got)
	}
	var show struct {
		Status  string `json:"status"`
		Metrics []struct {
			Name  string  `json:"name"`
			Value float64 `json:"value"`
			Rank  *int    `json:"rank"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(c.mustRun(dir, "show", id, "--json").Stdout), &show); err != nil {
		t.Fatal(err)
	}
	ranks := map[int]bool{}
	for _, m := range show.Metrics {
		if m.Name == "rank_metric" && m.Rank != nil && float64(*m.Rank) == m.Value {
			ranks[*m.Rank] = true
		}
	}
	if show.Status != "Completed" || len(ranks) != 4 {
		t.Errorf("status %s, metrics by rank %v (want ranks 0-3, each its own value)", show.Status, show.Metrics)
	}
	c.mustRun(dir, "download", id, "--to", filepath.Join(dir, "dl"))
	if b, err := os.ReadFile(filepath.Join(dir, "dl", "result.txt")); err != nil || string(b) != "world 4\n" {
		if b2, err2 := os.ReadFile(filepath.Join(dir, "dl", "outputs", "result.txt")); err2 != nil || string(b2) != "world 4\n" {
			t.Errorf("rank 0's outputs did not come back: %v %v", err, err2)
		}
	}
}

// lastRunID is the newest run in c's history.
func lastRunID(t *testing.T, c *cli, dir string) string {
	t.Helper()
	var runs []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(c.mustRun(dir, "runs", "--json").Stdout), &runs); err != nil || len(runs) == 0 {
		t.Fatalf("runs --json: %v", err)
	}
	return runs[0].ID
}

func TestSlurmRefusesBadRequestsBeforeSubmitting(t *testing.T) {
	c := newCLI(t)
	s := needSlurm(t, c)
	dir := writeProject(t, map[string]string{"a.py": "print('never')\n"})
	attach := append([]string(nil), s.attach...)
	attach[2] = "hpc-nopart"
	c.mustRun(dir, append(attach, "--partition", "nopart", "--no-check")...)
	exp := fmt.Sprintf("refused%d", os.Getpid()) // the job name would start with it
	bad := func(args ...string) result {
		return c.run(dir, append([]string{"run", "--experiment", exp}, args...)...)
	}
	r := bad("--compute", "hpc", "--node-count", "3", "--distributed", "pytorch", "a.py")
	if r.Code == 0 || !strings.Contains(r.Stderr, "Node count specification invalid") || !strings.Contains(r.Stderr, "partition debug*: 2 nodes") {
		t.Errorf("3 nodes on a 2-node partition: exit %d\n%s", r.Code, r.Stderr)
	}
	r = bad("--compute", "hpc-nopart", "a.py")
	if r.Code == 0 || !strings.Contains(r.Stderr, "sbatch: error: invalid partition specified: nopart") ||
		!strings.Contains(r.Stderr, "valid partitions: debug*") {
		t.Errorf("unknown partition: exit %d\n%s", r.Code, r.Stderr)
	}
	r = bad("--compute", "hpc", "--process-count-per-node", "2", "a.py")
	if r.Code == 0 || !strings.Contains(r.Stderr, "need a distributed mode") {
		t.Errorf("2 processes without a distributed mode: exit %d\n%s", r.Code, r.Stderr)
	}
	r = bad("--node-count", "2", "--distributed", "pytorch", "a.py")
	if r.Code == 0 || !strings.Contains(r.Stderr, "is a single machine") {
		t.Errorf("2 nodes on local: exit %d\n%s", r.Code, r.Stderr)
	}
	r = bad("--compute", "hpc", "--docker-image", "python:3.12-slim", "a.py")
	if r.Code == 0 || !strings.Contains(r.Stderr, "docker environments do not run on slurm targets") {
		t.Errorf("docker on slurm: exit %d\n%s", r.Code, r.Stderr)
	}
	// Bad input loses nothing and leaves nothing: no run in the history,
	// no job in Slurm's queue.
	if runs := c.runsJSON(t, dir); len(runs) != 0 {
		t.Errorf("refused runs were kept in the history: %+v", runs)
	}
	if out, err := s.exec(t, "login", "squeue", "-h", "-t", "all", "-o", "%j"); err != nil || strings.Contains(out, exp) {
		t.Errorf("squeue: %v %q", err, out)
	}
}

// mpiPy checks Open MPI's variables and does a real MPI allreduce.
const mpiPy = `import os
from mpi4py import MPI
comm = MPI.COMM_WORLD
total = comm.allreduce(comm.Get_rank())
print("mpi rank", os.environ["OMPI_COMM_WORLD_RANK"], "of", os.environ["OMPI_COMM_WORLD_SIZE"],
      "RANK", os.environ["RANK"], "sum", total, "master", os.environ["AZ_BATCH_MASTER_NODE"], flush=True)
`

func TestSlurmMPI(t *testing.T) {
	c := newCLI(t)
	s := needSlurm(t, c)
	s.waitIdle(t, time.Minute)
	dir := writeProject(t, map[string]string{"mpi.py": mpiPy})
	c.mustRun(dir, "run", "--compute", "hpc", "--node-count", "2", "--process-count-per-node", "2",
		"--distributed", "mpi", "mpi.py")
	all := c.mustRun(dir, "logs", lastRunID(t, c, dir), "--all-ranks").Stdout
	for r := 0; r < 4; r++ {
		want := "mpi rank " + string(rune('0'+r)) + " of 4 RANK " + string(rune('0'+r)) + " sum 6 master c1:6105"
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
}

// escapePy leaves processes that Slurm's proctrack/linuxproc does not
// track (setsid -f, a double fork), then waits to be canceled.
const escapePy = `import os, subprocess, time
subprocess.Popen(["setsid", "-f", "sleep", "4711"])
if os.fork() == 0:
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "4712"])
    os._exit(0)
print("started", os.environ["RANK"], flush=True)
time.sleep(600)
`

// slurmShow is what these tests read from ferry show --json.
type slurmShow struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

func (c *cli) slurmShowRun(t *testing.T, dir, id string) slurmShow {
	t.Helper()
	var s slurmShow
	if err := json.Unmarshal([]byte(c.mustRun(dir, "show", id, "--json").Stdout), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitStatus polls ferry show until cond holds.
func (c *cli) waitStatus(t *testing.T, dir, id string, limit time.Duration, cond func(slurmShow) bool) slurmShow {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		s := c.slurmShowRun(t, dir, id)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: still %+v after %s", id, s, limit)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func TestSlurmQueuedBehindFullClusterAndCancelLeavesNothing(t *testing.T) {
	c := newCLI(t)
	s := needSlurm(t, c)
	s.waitIdle(t, time.Minute)
	dir := writeProject(t, map[string]string{"hold.py": escapePy, "b.py": "print('b ran')\n"})
	c.mustRun(dir, "run", "--compute", "hpc", "--detach", "--node-count", "2", "--process-count-per-node", "2",
		"--distributed", "pytorch", "hold.py")
	holder := lastRunID(t, c, dir)
	deadline := time.Now().Add(time.Minute)
	for strings.Count(c.mustRun(dir, "logs", holder, "--all-ranks").Stdout, "started") < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("the 4 ranks of %s did not start", holder)
		}
		time.Sleep(300 * time.Millisecond)
	}
	c.mustRun(dir, "run", "--compute", "hpc", "--detach", "b.py")
	queued := lastRunID(t, c, dir)
	got := c.waitStatus(t, dir, queued, 30*time.Second, func(r slurmShow) bool { return r.Status == "Queued" && r.Reason != "" })
	if got.Reason != "Resources" && got.Reason != "Priority" {
		t.Errorf("queued run's reason = %q, want Slurm's (Resources)", got.Reason)
	}

	c.mustRun(dir, "cancel", holder)
	c.waitStatus(t, dir, holder, 30*time.Second, func(r slurmShow) bool { return r.Status == "Canceled" })
	for _, node := range []string{"c1", "c2"} {
		// Slurm reports the job gone before its steps' processes have
		// all ended; KillWait is 5 s, the task's grace 3 s. The margin
		// beyond that is for a loaded CI machine (15 s was once too short).
		deadline := time.Now().Add(40 * time.Second)
		for {
			out, _ := s.exec(t, node, "ps", "-eo", "pid,ppid,stat,etime,args")
			if !strings.Contains(out, "sleep 471") && !strings.Contains(out, "hold.py") {
				break
			}
			if time.Now().After(deadline) {
				queue, _ := s.exec(t, "login", "sh", "-c", "squeue -a -t all; sinfo; tail -n 30 /shared/ferry/runs/"+holder+"/driver.log")
				t.Fatalf("processes of the canceled run left on %s:\n%s\n%s\nrun log:\n%s", node, out, queue, c.run(dir, "logs", holder).Stdout)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	c.waitStatus(t, dir, queued, time.Minute, func(r slurmShow) bool { return r.Status == "Completed" })
	if out := c.mustRun(dir, "logs", queued).Stdout; out != "b ran\n" {
		t.Errorf("queued run's log = %q", out)
	}
}

func TestSlurmNodeFailureEndsFailed(t *testing.T) {
	c := newCLI(t)
	s := needSlurm(t, c)
	s.waitIdle(t, time.Minute)
	t.Cleanup(func() {
		_ = execDocker("start", s.name+"-c2")
		s.waitIdle(t, 2*time.Minute)
	})
	dir := writeProject(t, map[string]string{"long.py": "import os, time\nprint('up', os.environ['RANK'], flush=True)\ntime.sleep(300)\n"})
	c.mustRun(dir, "run", "--compute", "hpc", "--detach", "--node-count", "2", "--distributed", "pytorch", "long.py")
	id := lastRunID(t, c, dir)
	deadline := time.Now().Add(time.Minute)
	for strings.Count(c.mustRun(dir, "logs", id, "--all-ranks").Stdout, "up") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the 2 ranks of %s did not start", id)
		}
		time.Sleep(300 * time.Millisecond)
	}
	// slurmd is the container's main process: killing it takes c2 down.
	if out, err := s.exec(t, "c2", "pkill", "-9", "-x", "slurmd"); err != nil && !strings.Contains(err.Error(), "137") {
		t.Logf("pkill slurmd: %v %s", err, out)
	}
	got := c.waitStatus(t, dir, id, 90*time.Second, func(r slurmShow) bool { return r.Status == "Failed" })
	if !strings.Contains(got.Reason, "NODE_FAIL") {
		t.Errorf("reason = %q, want Slurm's NODE_FAIL", got.Reason)
	}
}

func execDocker(args ...string) error {
	return exec.Command("docker", args...).Run()
}
