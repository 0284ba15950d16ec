package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// TestDockerOnSSHTarget: a docker run on a target reached over SSH (a real
// sshd on this machine, whose Docker engine the executor there uses): the
// executor installed over SSH builds nothing for a plain image, runs the
// script in a container with the run's docker arguments, streams its
// output back, brings outputs home and removes the container.
func TestDockerOnSSHTarget(t *testing.T) {
	requireDockerImage(t)
	s := testutil.StartSSHD(t, testutil.SSHDOptions{})
	c := newCLI(t)
	c.attachSSHD("box", s)
	shm := "import os\nst = os.statvfs('/dev/shm')\nprint('SHM %d' % (st.f_blocks * st.f_frsize))\n"
	src := sourceDir(t, testutil.Tree{"train.py": shm + dockerScript})
	r := c.mustRun(src, "run", "--compute", "box", "--docker-image", dockerBaseImage,
		"--docker-arg=--shm-size=128m", "train.py")
	id := runIDOf(t, r.Stderr)
	for _, want := range []string{"SHM 134217728\n", "CODENAME bookworm\n", "INIT /sbin/docker-init\n", "CWD /ferry/work\n"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.Stdout)
		}
	}
	rec := c.show(id)
	if rec.Status != "Completed" || !hasMetric(rec.Metrics, "acc", 0.75, 2) {
		t.Errorf("show: status %s metrics %+v", rec.Status, rec.Metrics)
	}
	to := filepath.Join(t.TempDir(), "out")
	c.mustRun(src, "download", id, "--to", to)
	if b, err := os.ReadFile(filepath.Join(to, "model.txt")); err != nil || string(b) != "weights" {
		t.Errorf("downloaded model.txt = %q, %v", b, err)
	}
	out, err := exec.Command("docker", "ps", "-a", "-q", "--filter", "label=ferry.run="+id).Output()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("containers left for run %s: %q (%v)", id, out, err)
	}
	if n := strings.Count(s.Log(), "Accepted publickey"); n < 2 {
		t.Errorf("sshd accepted %d logins: the run did not go over SSH", n)
	}
}
