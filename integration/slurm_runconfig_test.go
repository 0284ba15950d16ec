package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tfConfigPy is a stdlib-only TF_CONFIG check: every task listens at the
// address the cluster spec gives it (binding proves the host is its own),
// and worker 0 asks every other task for the TF_CONFIG it was given, then
// prints whether each one's cluster agrees with its own and names the
// task it was asked as.
const tfConfigPy = `import json, os, socket, time
cfg = json.loads(os.environ["TF_CONFIG"])
task = cfg["task"]
me = cfg["cluster"][task["type"]][task["index"]]
host, port = me.rsplit(":", 1)
print("rank", os.environ["RANK"], "task", task["type"], task["index"], "at", me, "on", socket.gethostname(), flush=True)
if (task["type"], task["index"]) != ("worker", 0):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port))); s.listen(1)
    c, _ = s.accept(); c.sendall(json.dumps(cfg).encode()); c.close()
else:
    agree, others = 0, 0
    for kind in sorted(cfg["cluster"]):
        for i, addr in enumerate(cfg["cluster"][kind]):
            if (kind, i) == ("worker", 0):
                continue
            others += 1
            h, p = addr.rsplit(":", 1)
            for _ in range(300):
                try:
                    c = socket.create_connection((h, int(p))); break
                except OSError:
                    time.sleep(0.1)
            data = b""
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
            other = json.loads(data)
            if other["cluster"] == cfg["cluster"] and other["task"] == {"type": kind, "index": i}:
                agree += 1
            else:
                print("disagrees:", kind, i, data.decode(), flush=True)
    print("cluster", json.dumps(cfg["cluster"], sort_keys=True))
    print("agree", agree, "of", others, flush=True)
`

// writeRunConfig writes aml_config/NAME.runconfig under dir.
func writeRunConfig(t *testing.T, dir, name, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "aml_config"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("aml_config", name+".runconfig")
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestSlurmTensorFlowConfig: a run configuration with framework TensorFlow,
// communicator ParameterServer, nodeCount 2 and 3 workers + 1 parameter
// server gives each of the 4 processes a TF_CONFIG that agrees with every
// other's; so do 2 workers + 1 parameter server, which leave the second
// node short, and --distributed tensorflow on the command line (workers
// only).
func TestSlurmTensorFlowConfig(t *testing.T) {
	c := newCLI(t)
	s := needSlurm(t, c)
	s.waitIdle(t, time.Minute)
	dir := writeProject(t, map[string]string{"tf.py": tfConfigPy})
	rc := writeRunConfig(t, dir, "tf", `script: tf.py
target: hpc
framework: TensorFlow
communicator: ParameterServer
nodeCount: 2
environment:
  python:
    userManagedDependencies: true
    interpreterPath: python3
tensorflow:
  workerCount: 3
  parameterServerCount: 1
mpi:
  processCountPerNode: 1
`)
	r := c.mustRun(dir, "run", "--runconfig", rc, "--master-port", "29521")
	want := `cluster {"ps": ["c2:29523"], "worker": ["c1:29522", "c1:29523", "c2:29522"]}`
	if !strings.Contains(r.Stdout, want) || !strings.Contains(r.Stdout, "agree 3 of 3") {
		t.Fatalf("worker 0 saw:\n%s\nwant %s and agreement of all 3 other tasks\nstderr:\n%s", r.Stdout, want, r.Stderr)
	}
	if strings.Contains(r.Stderr, "warning") {
		t.Errorf("the run configuration's distributed fields gave warnings:\n%s", r.Stderr)
	}
	all := c.mustRun(dir, "logs", lastRunID(t, c, dir), "--all-ranks").Stdout
	for _, w := range []string{"[rank 2] rank 2 task worker 2 at c2:29522 on c2", "[rank 3] rank 3 task ps 0 at c2:29523 on c2"} {
		if !strings.Contains(all, w) {
			t.Errorf("logs --all-ranks lacks %q:\n%s", w, all)
		}
	}

	// Azure ML's own example: 2 workers and 1 parameter server on 2 nodes.
	// The nodes run 2 and 1 processes.
	rc = writeRunConfig(t, dir, "tf3", "script: tf.py\ntarget: hpc\nframework: TensorFlow\ncommunicator: ParameterServer\nnodeCount: 2\n"+
		"environment: {python: {userManagedDependencies: true, interpreterPath: python3}}\ntensorflow: {workerCount: 2, parameterServerCount: 1}\n")
	r = c.mustRun(dir, "run", "--runconfig", rc, "--master-port", "29551")
	if want := `cluster {"ps": ["c2:29552"], "worker": ["c1:29552", "c1:29553"]}`; !strings.Contains(r.Stdout, want) || !strings.Contains(r.Stdout, "agree 2 of 2") {
		t.Fatalf("2 workers + 1 ps: worker 0 saw:\n%s\nwant %s\nstderr:\n%s", r.Stdout, want, r.Stderr)
	}
	if got := c.mustRun(dir, "logs", lastRunID(t, c, dir), "--rank", "2").Stdout; !strings.Contains(got, "rank 2 task ps 0 at c2:29552 on c2") {
		t.Errorf("logs --rank 2 = %q", got)
	}

	r = c.mustRun(dir, "run", "--compute", "hpc", "--node-count", "2", "--distributed", "tensorflow", "--master-port", "29531", "tf.py")
	if want := `cluster {"worker": ["c1:29532", "c2:29532"]}`; !strings.Contains(r.Stdout, want) || !strings.Contains(r.Stdout, "agree 1 of 1") {
		t.Fatalf("--distributed tensorflow: worker 0 saw:\n%s\nwant %s", r.Stdout, want)
	}
}

// TestSlurmRunConfigNodeCount: a run configuration with nodeCount 2,
// communicator Nccl and pytorch.processCount 4 runs 2 nodes x 2 processes
// whose ranks rendezvous at MASTER_ADDR:MASTER_PORT; --master-port changes
// only the port, and the same file on the local target is refused with the
// reason before anything is recorded.
func TestSlurmRunConfigNodeCount(t *testing.T) {
	c := newCLI(t)
	s := needSlurm(t, c)
	s.waitIdle(t, time.Minute)
	dir := writeProject(t, map[string]string{"train.py": rendezvousPy})
	rc := writeRunConfig(t, dir, "hpc", `script: train.py
target: hpc
framework: PyTorch
communicator: Nccl
nodeCount: 2
environment:
  python:
    userManagedDependencies: true
    interpreterPath: python3
pytorch:
  communicationBackend: nccl
  processCount: 4
`)
	r := c.mustRun(dir, "run", "--runconfig", rc, "--master-port", "29541")
	if !strings.Contains(r.Stdout, "gathered 1:4 2:4 3:4") || !strings.Contains(r.Stdout, "rank 0/4 host c1 local 0/2 node 0") {
		t.Fatalf("the 4 ranks did not rendezvous:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
	}
	all := c.mustRun(dir, "logs", lastRunID(t, c, dir), "--all-ranks").Stdout
	if !strings.Contains(all, "[rank 3] rank 3/4 host c2 local 1/2 node 1") {
		t.Errorf("logs --all-ranks:\n%s", all)
	}

	r = c.run(dir, "run", "--runconfig", rc, "--compute", "local")
	if r.Code == 0 || !strings.Contains(r.Stderr, "is a single machine: it cannot run 2 nodes x 2 processes") ||
		!strings.Contains(r.Stderr, rc+" asks for nodeCount 2") {
		t.Errorf("nodeCount 2 on local: exit %d\n%s", r.Code, r.Stderr)
	}
	if n := len(c.runsJSON(t, dir)); n != 1 {
		t.Errorf("%d runs in the history after the refusal, want the 1 that ran", n)
	}
}

// runsJSON is ferry runs --json: the history, newest first.
func (c *cli) runsJSON(t *testing.T, dir string) []slurmRun {
	t.Helper()
	var runs []slurmRun
	if err := json.Unmarshal([]byte(c.mustRun(dir, "runs", "--json").Stdout), &runs); err != nil {
		t.Fatalf("runs --json: %v", err)
	}
	return runs
}

// slurmRun is what these tests read from ferry runs --json.
type slurmRun struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}
