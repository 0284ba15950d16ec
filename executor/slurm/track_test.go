package slurm

import (
	"context"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
)

// noAccounting is a cluster without accounting, as Slurm's commands answer
// there: squeue knows the job while it runs, then forgets it (MinJobAge),
// and sacct always fails. ranksDone is called as the job leaves squeue, to
// write the ranks' exit records the way their tasks do.
type noAccounting struct {
	mu        sync.Mutex
	polls     int
	ranksDone func()
	sacct     int
}

func (c *noAccounting) run(_ context.Context, _, name string, _ ...string) ([]byte, []byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch name {
	case "sbatch":
		return []byte("42\n"), nil, nil
	case "squeue":
		c.polls++
		if c.polls < 3 {
			return []byte("RUNNING|None|c[1-2]\n"), nil, nil
		}
		if c.polls == 3 {
			c.ranksDone()
		}
		return nil, []byte("slurm_load_jobs error: Invalid job id specified\n"), fakeExit(1)
	case "sacct":
		c.sacct++
		return nil, []byte("sacct: error: Slurm accounting storage is disabled\n"), fakeExit(1)
	}
	return nil, nil, fakeExit(1)
}

// TestDriveWithoutAccounting: on a cluster without accounting, a job that
// squeue forgot and sacct cannot report ends by its ranks' own exit
// records: Completed when every rank exited 0, else Failed with the first
// failing rank's code and words.
func TestDriveWithoutAccounting(t *testing.T) {
	for _, tt := range []struct {
		name   string
		codes  []int
		want   int
		reason string
	}{
		{"every rank exited 0", []int{0, 0, 0, 0}, 0, ""},
		{"rank 2 exited 3", []int{0, 0, 3, 0}, 3, "rank 2 exited with code 3 on c2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			j := testJob()
			j.Dir, j.Work = t.TempDir(), t.TempDir()
			c := &noAccounting{ranksDone: func() {
				for r, code := range tt.codes {
					if err := WriteRankExit(j.Dir, RankExit{Rank: r, Node: "c" + string(rune('1'+r/2)), ExitCode: &code}); err != nil {
						t.Error(err)
					}
				}
			}}
			var out strings.Builder
			d := &Driver{Job: j, Run: c.run, Out: &out}
			if got := d.Drive(context.Background(), nil); got != tt.want {
				t.Fatalf("Drive = %d, want %d (output %q)", got, tt.want, out.String())
			}
			st, ok := ReadState(j.Dir)
			if !ok || st.ID != "42" || st.State != "GONE" || st.Reason != tt.reason || c.sacct == 0 {
				t.Errorf("state %+v (ok %v), sacct asked %d times; want job 42 GONE with reason %q, sacct tried", st, ok, c.sacct, tt.reason)
			}
			if _, err := os.Stat(RankExitPath(j.Dir, 3)); err != nil {
				t.Error(err)
			}
			if tt.want != 0 && (st.FailedRank == nil || *st.FailedRank != 2) {
				t.Errorf("failed rank = %v, want 2", st.FailedRank)
			}
		})
	}
}

func TestQueryFallsBackToSacct(t *testing.T) {
	run := func(_ context.Context, _, name string, _ ...string) ([]byte, []byte, error) {
		if name == "squeue" {
			return nil, []byte("slurm_load_jobs error: Invalid job id specified\n"), fakeExit(1)
		}
		return []byte("TIMEOUT|None|c1\n"), nil, nil
	}
	job, ok, err := Query(context.Background(), run, "7")
	if err != nil || !ok || job != (api.SlurmJob{ID: "7", State: "TIMEOUT", Nodes: "c1"}) {
		t.Fatalf("Query = %+v %v %v; want sacct's TIMEOUT", job, ok, err)
	}
}

// busyController is a slurmctld that drops the first scancel (as one too
// busy to answer within MessageTimeout does) and cancels the job on the
// second.
type busyController struct {
	mu       sync.Mutex
	scancels int
}

func (c *busyController) run(_ context.Context, _, name string, _ ...string) ([]byte, []byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch name {
	case "sbatch":
		return []byte("42\n"), nil, nil
	case "scancel":
		c.scancels++
		if c.scancels == 1 {
			return nil, []byte("scancel: error: Kill job error on job id 42: Socket timed out on send/recv operation\n"), fakeExit(1)
		}
		return nil, nil, nil
	case "squeue":
		if c.scancels < 2 {
			return []byte("RUNNING|None|c[1-2]\n"), nil, nil
		}
		return []byte("CANCELLED|None|c[1-2]\n"), nil, nil
	}
	return nil, nil, fakeExit(1)
}

// TestCancelSendsScancelAgainWhileTheJobRuns: a scancel that failed must
// not leave the job running while the run is recorded as canceled.
func TestCancelSendsScancelAgainWhileTheJobRuns(t *testing.T) {
	old := rescancelInterval
	rescancelInterval = 50 * time.Millisecond
	t.Cleanup(func() { rescancelInterval = old })
	j := testJob()
	j.Dir, j.Work = t.TempDir(), t.TempDir()
	c := &busyController{}
	var out strings.Builder
	cancel := make(chan os.Signal, 1)
	cancel <- syscall.SIGTERM
	d := &Driver{Job: j, Run: c.run, Out: &out}
	if got := d.Drive(context.Background(), cancel); got != exitCanceled {
		t.Fatalf("Drive = %d, want %d (output %q)", got, exitCanceled, out.String())
	}
	if c.scancels != 2 {
		t.Errorf("scancel sent %d times, want 2 (one dropped, one taken)", c.scancels)
	}
	for _, s := range []string{"Socket timed out", "trying again"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("the run's log lacks %q:\n%s", s, out.String())
		}
	}
	if st, _ := ReadState(j.Dir); st.State != "CANCELLED" || st.Reason != "canceled" {
		t.Errorf("state %+v, want CANCELLED (canceled)", st)
	}
}
