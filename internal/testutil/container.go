package testutil

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ContainerOptions configures StartContainerTarget.
type ContainerOptions struct {
	// TmpfsHome, when set, is the size of a tmpfs mounted at
	// /home/ferry/.ferry (owned by ferry, exec allowed), e.g. "20m": a small
	// filesystem for full-disk tests. Its content is lost on Stop.
	TmpfsHome string
	// Network is passed to `docker run --network` when set.
	Network string
	// ExtraArgs are added to `docker run` before the image name.
	ExtraArgs []string
	// HDInsight runs the head-node image instead (scripts/build-hdi-image.sh):
	// the fakespark TEST STAND-INS for spark-submit, yarn and hdfs, with
	// YARN containers running as user "yarn".
	HDInsight bool
}

// ContainerTarget is a running container that plays a remote Linux compute
// target: Debian bookworm with python3, python3-venv, rsync and an OpenSSH
// server reachable on Host:Port, user "ferry" with the key in KeyFile. It
// shares nothing with the host's filesystem. Tests must not change its
// fields; its methods are safe for concurrent use except Stop and Start.
type ContainerTarget struct {
	// Host is "127.0.0.1".
	Host string
	// Port is the host port mapped to the container's sshd. It is kept
	// across Stop/Start.
	Port int
	// User is "ferry" (uid 1000, home /home/ferry).
	User string
	// KeyFile is an unencrypted OpenSSH ed25519 private key (0600) that
	// User accepts; KeyFile+".pub" is its public key.
	KeyFile string
	// KnownHosts is a known_hosts file naming the container's host keys as
	// "[127.0.0.1]:PORT".
	KnownHosts string
	// HostKeys are the container's host public keys, "type base64" each.
	HostKeys []string
	// Name and ID identify the container for the docker CLI.
	Name string
	ID   string
	// Image is the image it runs, ferry-test-target:<tag>.
	Image string

	readyCount int // FERRY-TARGET-READY lines seen so far (one per start)
}

// StartContainerTarget starts a fresh target container and waits until its
// sshd accepts connections. Without a Docker engine the test is skipped (or
// fails under FERRY_TEST_DISALLOW_SKIP). When the target image is missing it
// runs scripts/build-test-image.sh first (about a minute, once per machine).
// The container is removed by t.Cleanup.
func StartContainerTarget(t testing.TB, opts ContainerOptions) *ContainerTarget {
	t.Helper()
	image := requireTargetImage(t)
	if opts.HDInsight {
		image = requireHDIImage(t)
	}
	dir := t.TempDir()
	pub, err := writeUserKey(filepath.Join(dir, "id_ed25519"))
	if err != nil {
		t.Fatalf("write target user key: %v", err)
	}
	c := &ContainerTarget{
		Host:       "127.0.0.1",
		User:       "ferry",
		KeyFile:    filepath.Join(dir, "id_ed25519"),
		KnownHosts: filepath.Join(dir, "known_hosts"),
		Name:       containerName(t),
		Image:      image,
	}
	if err := c.run(t, opts, pub); err != nil {
		t.Fatalf("start target container: %v", err)
	}
	t.Cleanup(c.remove)
	if err := c.awaitReady(); err != nil {
		t.Fatalf("start target container %s: %v", c.Name, err)
	}
	return c
}

// Addr returns "127.0.0.1:PORT", the target's SSH address.
func (c *ContainerTarget) Addr() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// SSHArgs returns the arguments that make the OpenSSH client log in to the
// target with strict host key checking, to put before a remote command:
// exec.Command("ssh", append(c.SSHArgs(), "true")...).
func (c *ContainerTarget) SSHArgs() []string {
	return c.SSHArgsVia(c.Addr())
}

// SSHArgsVia is SSHArgs for a client that reaches the target through addr
// ("host:port", such as a Proxy's Addr): it connects there but still
// checks the target's host key from KnownHosts.
func (c *ContainerTarget) SSHArgsVia(addr string) []string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = addr, "22"
	}
	return []string{
		"-i", c.KeyFile, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "UserKnownHostsFile=" + c.KnownHosts, "-o", "StrictHostKeyChecking=yes",
		"-o", "GlobalKnownHostsFile=/dev/null", "-o", "HostKeyAlias=" + c.knownHostsName(),
		"-F", "/dev/null", "-p", port, c.User + "@" + host,
	}
}

// knownHostsName is the target's name in KnownHosts, "[127.0.0.1]:PORT".
func (c *ContainerTarget) knownHostsName() string {
	return fmt.Sprintf("[%s]:%d", c.Host, c.Port)
}

// Exec runs argv in the container as user ferry (in /home/ferry) and
// returns its stdout; a non-zero exit fails the test.
func (c *ContainerTarget) Exec(t testing.TB, argv ...string) string {
	t.Helper()
	return c.ExecAs(t, c.User, argv...)
}

// ExecAs is Exec as another user, such as "root".
func (c *ContainerTarget) ExecAs(t testing.TB, user string, argv ...string) string {
	t.Helper()
	out, err := c.TryExecAs(user, argv...)
	if err != nil {
		t.Fatalf("exec in %s: %v", c.Name, err)
	}
	return out
}

// TryExecAs runs argv in the container as user and returns its stdout, or
// an error that carries the exit status and stderr.
func (c *ContainerTarget) TryExecAs(user string, argv ...string) (string, error) {
	home := "/home/ferry"
	if user == "root" {
		home = "/root"
	}
	args := append([]string{"exec", "-u", user, "-w", home, "-e", "HOME=" + home, c.Name}, argv...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return dockerCLI(ctx, args...)
}

// Stop stops the container as a power-off would: every process ends, the
// disk (except a TmpfsHome) stays.
func (c *ContainerTarget) Stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := dockerCLI(ctx, "stop", "-t", "5", c.Name); err != nil {
		t.Fatalf("stop target container: %v", err)
	}
}

// Start boots a stopped container again and waits for its sshd. Port and
// host keys stay the same, so clients see a rebooted machine.
func (c *ContainerTarget) Start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := dockerCLI(ctx, "start", c.Name); err != nil {
		t.Fatalf("start target container: %v", err)
	}
	if err := c.awaitReady(); err != nil {
		t.Fatalf("restart target container %s: %v", c.Name, err)
	}
}

// run creates and starts the container on a free loopback port, retrying
// when another process takes the port first.
func (c *ContainerTarget) run(t testing.TB, opts ContainerOptions, pub string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	for range 5 {
		if c.Port, err = freeLoopbackPort(); err != nil {
			return err
		}
		var out string
		out, err = dockerCLI(ctx, c.runArgs(opts, pub)...)
		if err == nil {
			c.ID = strings.TrimSpace(out)
			return nil
		}
		// A failed run can leave a created container behind.
		_, _ = dockerCLI(ctx, "rm", "-f", c.Name)
		if !strings.Contains(err.Error(), "already allocated") && !strings.Contains(err.Error(), "address already in use") {
			return err
		}
		t.Logf("port %d taken, retrying: %v", c.Port, err)
	}
	return err
}

func (c *ContainerTarget) runArgs(opts ContainerOptions, pub string) []string {
	args := []string{
		"run", "-d", "--name", c.Name, "--hostname", "ferry-target",
		"--label", "ferry-test=1",
		"-p", fmt.Sprintf("127.0.0.1:%d:22", c.Port),
		"-e", "FERRY_AUTHORIZED_KEY=" + pub,
	}
	if opts.TmpfsHome != "" {
		args = append(args, "--tmpfs",
			"/home/ferry/.ferry:rw,exec,size="+opts.TmpfsHome+",uid=1000,gid=1000,mode=0700")
	}
	if opts.Network != "" {
		args = append(args, "--network", opts.Network)
	}
	args = append(args, opts.ExtraArgs...)
	return append(args, c.Image)
}

// awaitReady follows the container's output until its entry point printed
// the host keys (for the next start), writes KnownHosts, then waits until
// sshd's banner comes through the published port.
func (c *ContainerTarget) awaitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	keys, err := c.followStartup(ctx)
	if err != nil {
		return err
	}
	c.HostKeys = keys
	if err := writeKnownHosts(c.KnownHosts, c.knownHostsName(), keys); err != nil {
		return err
	}
	return awaitBanner(ctx, c.Addr())
}

// followStartup reads `docker logs --follow` until the entry point of start
// number readyCount+1 printed its host keys, and returns them.
func (c *ContainerTarget) followStartup(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "logs", "--follow", c.Name)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("follow container logs: %w", err)
	}
	go func() { pw.CloseWithError(cmd.Wait()) }()
	defer func() { cancel(); _, _ = io.Copy(io.Discard, pr) }()

	var keys, seen []string
	ready := 0
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		seen = append(seen, line)
		switch {
		case strings.HasPrefix(line, "FERRY-HOST-KEY "):
			keys = append(keys, strings.TrimPrefix(line, "FERRY-HOST-KEY "))
		case line == "FERRY-TARGET-READY":
			ready++
			if ready <= c.readyCount {
				keys = nil
				continue
			}
			// sshd's own "Server listening" lines (stderr) are not waited
			// for: docker logs has shown them before this line (stdout)
			// after a restart. The caller reads sshd's banner instead.
			c.readyCount = ready
			return keys, nil
		}
	}
	return nil, fmt.Errorf("container output ended before sshd listened: %v (output: %s)",
		sc.Err(), outputTail(strings.Join(seen, "\n")))
}

// remove deletes the container and everything in it.
func (c *ContainerTarget) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _ = dockerCLI(ctx, "rm", "-f", "-v", c.Name)
}
