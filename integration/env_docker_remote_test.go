package integration

import (
	"os/exec"
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
	id := checkDockerRun(t, c, src, r, "SHM 134217728\n")
	out, err := exec.Command("docker", "ps", "-a", "-q", "--filter", "label=ferry.run="+id).Output()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("containers left for run %s: %q (%v)", id, out, err)
	}
	if n := strings.Count(s.Log(), "Accepted publickey"); n < 2 {
		t.Errorf("sshd accepted %d logins: the run did not go over SSH", n)
	}
}
