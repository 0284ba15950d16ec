package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// slurmCluster is the test Slurm cluster (scripts/slurm-cluster.sh),
// started at most once per test binary by the first test that needs it and
// removed by TestMain when every test has run.
type slurmCluster struct {
	name   string   // container prefix
	dir    string   // its key and known_hosts
	attach []string // the `ferry compute attach ...` arguments it printed
}

var slurm struct {
	once sync.Once
	c    *slurmCluster
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if slurm.c != nil {
		slurm.c.down()
	}
	testutil.RemoveBinaries()
	os.Exit(code)
}

// repoRoot is the repository's top directory.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// needSlurm starts the cluster (once) and attaches it to c as "hpc".
func needSlurm(t *testing.T, c *cli) *slurmCluster {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil || exec.Command("docker", "info").Run() != nil {
		testutil.SkipOrFail(t, "docker engine not available")
	}
	slurm.once.Do(func() { slurm.c, slurm.err = startSlurm() })
	if slurm.err != nil {
		t.Fatalf("start the test Slurm cluster: %v", slurm.err)
	}
	args := append([]string(nil), slurm.c.attach...)
	args[2] = "hpc" // the target's name
	c.mustRun(t.TempDir(), args...)
	return slurm.c
}

func startSlurm() (*slurmCluster, error) {
	s := &slurmCluster{name: fmt.Sprintf("ferry-slurm-it%d", os.Getpid())}
	dir, err := os.MkdirTemp("", "ferry-slurm-it")
	if err != nil {
		return nil, err
	}
	s.dir = dir
	cmd := exec.Command("bash", filepath.Join(repoRoot(), "scripts", "slurm-cluster.sh"), "up")
	cmd.Env = append(os.Environ(), "FERRY_SLURM_NAME="+s.name, "FERRY_SLURM_DIR="+dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		s.down()
		return nil, fmt.Errorf("%w: %s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 4 || f[0] != "ferry" || f[1] != "compute" || f[2] != "attach" {
		s.down()
		return nil, fmt.Errorf("last line of slurm-cluster.sh up is not an attach command: %q", lines[len(lines)-1])
	}
	s.attach = f[1:]
	return s, nil
}

func (s *slurmCluster) down() {
	cmd := exec.Command("bash", filepath.Join(repoRoot(), "scripts", "slurm-cluster.sh"), "down")
	cmd.Env = append(os.Environ(), "FERRY_SLURM_NAME="+s.name, "FERRY_SLURM_DIR="+s.dir)
	_ = cmd.Run()
	os.RemoveAll(s.dir)
}

// exec runs a command in one of the cluster's containers (c1, c2, login,
// slurmctld) and returns its output.
func (s *slurmCluster) exec(t *testing.T, node string, argv ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("docker", append([]string{"exec", s.name + "-" + node}, argv...)...).CombinedOutput()
	return string(out), err
}

// waitIdle waits until both compute nodes are idle (after a test that left
// them busy or down).
func (s *slurmCluster) waitIdle(t *testing.T, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		out, _ := s.exec(t, "login", "sinfo", "-h", "-t", "idle", "-o", "%D")
		if strings.TrimSpace(out) == "2" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	out, _ := s.exec(t, "login", "sinfo")
	t.Fatalf("compute nodes not idle after %s:\n%s", limit, out)
}
