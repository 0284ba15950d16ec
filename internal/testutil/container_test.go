package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestContainerTargetSSH(t *testing.T) {
	t.Parallel()
	sshBin := RequireCommand(t, "ssh")
	c := StartContainerTarget(t, ContainerOptions{})

	out, err := exec.Command(sshBin, append(c.SSHArgs(), "python3", "-c", "'print(1)'")...).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Fatalf("ssh python3 -c 'print(1)' = %q, %v; want \"1\"", out, err)
	}
	if got := strings.TrimSpace(c.Exec(t, "id", "-un")); got != "ferry" {
		t.Fatalf("Exec id -un = %q, want ferry", got)
	}
	if c.Host != "127.0.0.1" || c.User != "ferry" || c.Port == 0 || c.ID == "" {
		t.Fatalf("target = %+v, want host 127.0.0.1, user ferry, a port and an id", c)
	}
	// The target must not see the host's files.
	marker := filepath.Join(t.TempDir(), "host-only")
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TryExecAs("root", "test", "-e", marker); err == nil {
		t.Fatalf("host file %s is visible inside the target", marker)
	}
}

func TestContainerTargetTmpfsHome(t *testing.T) {
	t.Parallel()
	c := StartContainerTarget(t, ContainerOptions{TmpfsHome: "20m"})

	out := c.Exec(t, "df", "-k", "--output=size", "/home/ferry/.ferry")
	fields := strings.Fields(out)
	kib, err := strconv.Atoi(fields[len(fields)-1])
	if err != nil || kib <= 0 || kib > 20*1024 {
		t.Fatalf("df of /home/ferry/.ferry = %q: want a size up to 20480 KiB", out)
	}
	// ferry can write and run programs there, and a big write fills it.
	if got := c.Exec(t, "sh", "-c", "cp /bin/echo ~/.ferry/e && ~/.ferry/e ok"); strings.TrimSpace(got) != "ok" {
		t.Fatalf("running a program from the tmpfs printed %q, want ok", got)
	}
	_, err = c.TryExecAs("ferry", "dd", "if=/dev/zero", "of=/home/ferry/.ferry/big", "bs=1M", "count=30")
	if err == nil || !strings.Contains(err.Error(), "No space left") {
		t.Fatalf("writing 30 MiB to a 20m tmpfs: %v, want no space left", err)
	}
}

func TestContainerTargetStopStart(t *testing.T) {
	t.Parallel()
	sshBin := RequireCommand(t, "ssh")
	c := StartContainerTarget(t, ContainerOptions{})
	c.Exec(t, "touch", "/home/ferry/survives")
	port, keys := c.Port, strings.Join(c.HostKeys, "\n")

	c.Stop(t)
	if _, err := exec.Command(sshBin, append(c.SSHArgs(), "true")...).CombinedOutput(); err == nil {
		t.Fatal("ssh to a stopped target succeeded")
	}
	c.Start(t)

	if c.Port != port || strings.Join(c.HostKeys, "\n") != keys {
		t.Fatalf("after restart port %d keys %q; want port %d and the same host keys", c.Port, c.HostKeys, port)
	}
	out, err := exec.Command(sshBin, append(c.SSHArgs(), "ls", "/home/ferry/survives")...).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh after restart: %v (%s)", err, out)
	}
}

func TestContainerTargetBehindProxy(t *testing.T) {
	t.Parallel()
	sshBin := RequireCommand(t, "ssh")
	c := StartContainerTarget(t, ContainerOptions{})
	p := StartProxy(t, c.Addr(), ProxyOptions{Delay: 5 * time.Millisecond})
	upload := func(name string) error {
		cmd := exec.Command(sshBin, append(c.SSHArgsVia(p.Addr()), "cat > "+name)...)
		cmd.Stdin = bytes.NewReader(make([]byte, 8<<20))
		return cmd.Run()
	}

	if err := upload("whole"); err != nil {
		t.Fatalf("upload through a 5 ms proxy: %v", err)
	}
	p.DropAfter(1 << 20)
	if err := upload("cut"); err == nil {
		t.Fatal("upload through a link cut after 1 MiB succeeded")
	}
	sizes := strings.Fields(c.Exec(t, "stat", "-c", "%s", "whole", "cut"))
	if len(sizes) != 2 || sizes[0] != strconv.Itoa(8<<20) || sizes[1] == sizes[0] {
		t.Fatalf("sizes of whole, cut on the target = %q; want 8 MiB and less", sizes)
	}
}
