package slurm

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
)

func testJob() Job {
	return Job{
		RunID: "exp_1_ab", Dir: "/shared/ferry/runs/exp_1_ab", Work: "/shared/ferry/runs/exp_1_ab/work",
		Spec:       api.SlurmSpec{Nodes: 2, ProcessesPerNode: 2, Distributed: api.DistributedPyTorch, Partition: "gpu", GPUsPerNode: 1},
		Executable: "/shared/ferry/executor/v/ferry-executor", MaxDuration: 90 * time.Minute,
	}
}

func TestSbatchArgs(t *testing.T) {
	got := SbatchArgs(testJob())
	want := []string{"--parsable", "--job-name=exp_1_ab", "--nodes=2", "--ntasks-per-node=2",
		"--chdir=/shared/ferry/runs/exp_1_ab/work", "--output=/shared/ferry/runs/exp_1_ab/slurm-%j.out",
		"--no-requeue", "--partition=gpu", "--time=0-01:30:00", "--gres=gpu:1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestBatchScriptLaunchers(t *testing.T) {
	j := testJob()
	s := BatchScript(j)
	if !strings.Contains(s, "srun --kill-on-bad-exit=1 --nodes=2 --ntasks-per-node=2 /shared/ferry/executor/v/ferry-executor slurm-task --run-dir /shared/ferry/runs/exp_1_ab\n") {
		t.Errorf("pytorch script:\n%s", s)
	}
	j.Spec.Distributed = api.DistributedMPI
	if s := BatchScript(j); !strings.Contains(s, "mpirun -np 4 --map-by ppr:2:node --bind-to none ") {
		t.Errorf("mpi script:\n%s", s)
	}
	j.Dir = "/shared/it's here"
	if s := BatchScript(j); !strings.Contains(s, `'/shared/it'\''s here/batch.exit'`) {
		t.Errorf("quoting:\n%s", s)
	}
}

func TestParseSqueue(t *testing.T) {
	tests := []struct {
		out  string
		want api.SlurmJob
		ok   bool
	}{
		{"PENDING|Resources|\n", api.SlurmJob{ID: "7", State: "PENDING", Reason: "Resources"}, true},
		{"RUNNING|None|c[1-2]\n", api.SlurmJob{ID: "7", State: "RUNNING", Nodes: "c[1-2]"}, true},
		{"CANCELLED by 1000|None|c1\n", api.SlurmJob{ID: "7", State: "CANCELLED", Nodes: "c1"}, true},
		{"", api.SlurmJob{}, false},
	}
	for _, tt := range tests {
		got, ok := parseSqueue("7", []byte(tt.out))
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseSqueue(%q) = %+v %v", tt.out, got, ok)
		}
	}
}

func code(n int) *int { return &n }

func TestOutcome(t *testing.T) {
	t0 := time.Now()
	ok := []RankExit{{Rank: 0, ExitCode: code(0)}, {Rank: 1, ExitCode: code(0)}}
	failing := []RankExit{{Rank: 0, ExitCode: code(143), Signal: "", Ended: t0.Add(time.Second)}, {Rank: 1, ExitCode: code(3), Node: "c2", Ended: t0}}
	tests := []struct {
		name    string
		last    api.SlurmJob
		exits   []RankExit
		missing []int
		code    int
		reason  string
	}{
		{"all zero", api.SlurmJob{ID: "5", State: "COMPLETED"}, ok, nil, 0, ""},
		{"first failing rank wins", api.SlurmJob{ID: "5", State: "FAILED"}, failing, nil, 3, "rank 1 exited with code 3 on c2"},
		{"node failure", api.SlurmJob{ID: "5", State: "NODE_FAIL", Reason: "NodeDown"}, ok[:1], []int{1}, 1,
			"Slurm job 5 ended NODE_FAIL (NodeDown); rank 1 left no exit status"},
		{"gone without records", api.SlurmJob{ID: "5", State: "GONE"}, nil, []int{0, 1}, 1,
			"Slurm job 5 ended GONE; ranks 0, 1 left no exit status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, r, _ := outcome(tt.last, tt.exits, tt.missing)
			if c != tt.code || r != tt.reason {
				t.Errorf("outcome = %d %q, want %d %q", c, r, tt.code, tt.reason)
			}
		})
	}
}

func TestRankOfAndDistributedEnv(t *testing.T) {
	spec := api.SlurmSpec{Nodes: 2, ProcessesPerNode: 2, Distributed: api.DistributedMPI}
	env := map[string]string{"SLURM_PROCID": "0", "OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_SIZE": "4",
		"OMPI_COMM_WORLD_LOCAL_RANK": "1", "OMPI_COMM_WORLD_LOCAL_SIZE": "2", "OMPI_COMM_WORLD_NODE_RANK": "1"}
	r, err := RankOf(spec, func(k string) string { return env[k] })
	if err != nil || r != (Rank{Rank: 3, World: 4, Local: 1, LocalWorld: 2, Node: 1}) {
		t.Fatalf("RankOf under mpirun = %+v, %v", r, err)
	}
	got := DistributedEnv(spec, r, []string{"c1", "c2"})
	for _, want := range []string{"MASTER_ADDR=c1", "MASTER_PORT=6105", "RANK=3", "WORLD_SIZE=4", "AZ_BATCH_MASTER_NODE=c1:6105"} {
		if !contains(got, want) {
			t.Errorf("env lacks %s: %q", want, got)
		}
	}
	if _, err := RankOf(api.SlurmSpec{Nodes: 1, ProcessesPerNode: 1}, func(string) string { return "" }); err == nil {
		t.Error("RankOf without any rank variable succeeded")
	}
}

func TestTFConfig(t *testing.T) {
	spec := api.SlurmSpec{Nodes: 2, ProcessesPerNode: 2, Distributed: api.DistributedTensorFlow, WorkerCount: 3, ParameterServerCount: 1}
	var cfg struct {
		Cluster map[string][]string `json:"cluster"`
		Task    struct {
			Type  string `json:"type"`
			Index int    `json:"index"`
		} `json:"task"`
	}
	if err := json.Unmarshal([]byte(tfConfig(spec, Rank{Rank: 3}, []string{"c1", "c2"})), &cfg); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Cluster["worker"], []string{"c1:6106", "c1:6107", "c2:6106"}) ||
		!reflect.DeepEqual(cfg.Cluster["ps"], []string{"c2:6107"}) || cfg.Task.Type != "ps" || cfg.Task.Index != 0 {
		t.Errorf("TF_CONFIG = %+v", cfg)
	}
}

func TestValidateKeepsSlurmsMessageAndAddsCounts(t *testing.T) {
	run := func(_ context.Context, _, name string, args ...string) ([]byte, []byte, error) {
		switch name {
		case "sbatch":
			return nil, []byte("sbatch: error: Batch job submission failed: Node count specification invalid\n"), fakeExit(1)
		case "sinfo":
			return []byte("debug*|0/2/0/2|2|1000|(null)\n"), nil, nil
		}
		return nil, nil, errors.New("unexpected " + name)
	}
	err := Validate(context.Background(), run, testJob())
	want := "sbatch: error: Batch job submission failed: Node count specification invalid\n" +
		"partition debug*: 2 nodes (2 idle, 0 allocated, 0 other), 2 CPUs and 1000 MB per node, gres (null)"
	if err == nil || err.Error() != want {
		t.Fatalf("Validate = %v", err)
	}
}

// fakeExit returns a real *exec.ExitError with the given status.
func fakeExit(code int) error {
	err := exec.Command("sh", "-c", "exit "+string(rune('0'+code))).Run()
	return err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
