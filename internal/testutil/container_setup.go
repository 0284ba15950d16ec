package testutil

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// targetImageRepo is the repository of the image build-test-image.sh makes.
const targetImageRepo = "ferry-test-target"

// requireTargetImage returns the target image for the current
// scripts/build-test-image.sh (tag: 12 hex of its sha256), building it when
// missing, or skips/fails the test when Docker is not usable.
func requireTargetImage(t testing.TB) string {
	t.Helper()
	RequireCommand(t, "docker")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := dockerCLI(ctx, "version", "--format", "{{.Server.Version}}"); err != nil {
		SkipOrFail(t, fmt.Sprintf("docker engine not answering (make test-deps starts it): %v", err))
	}
	script, image, err := targetImage()
	if err != nil {
		t.Logf("find target image: %v; using %s:latest", err, targetImageRepo)
		image = targetImageRepo + ":latest"
	}
	if _, err := dockerCLI(ctx, "image", "inspect", "--format", "{{.Id}}", image); err == nil {
		return image
	}
	if script == "" {
		SkipOrFail(t, "image "+image+" missing and scripts/build-test-image.sh not found")
	}
	t.Logf("building %s with %s (about a minute, once)", image, script)
	out, err := exec.Command("bash", script).CombinedOutput()
	if err != nil {
		SkipOrFail(t, fmt.Sprintf("build target image: %v (output: %s)", err, outputTail(string(out))))
	}
	return image
}

// targetImage finds scripts/build-test-image.sh in the repository holding the
// working directory and returns it with the image name it builds.
func targetImage() (script, image string, err error) {
	root, err := findRepoRoot()
	if err != nil {
		return "", "", err
	}
	script = filepath.Join(root, "scripts", "build-test-image.sh")
	data, err := os.ReadFile(script)
	if err != nil {
		return "", "", fmt.Errorf("read image script: %w", err)
	}
	sum := sha256.Sum256(data)
	return script, targetImageRepo + ":" + hex.EncodeToString(sum[:])[:12], nil
}

// repoRoot walks up from the working directory to the one holding go.mod.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("get working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// writeUserKey writes a new ed25519 private key to path (0600) and its
// public key to path.pub, and returns the authorized_keys line.
func writeUserKey(path string) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "ferry-test")
	if err != nil {
		return "", fmt.Errorf("marshal key: %w", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", fmt.Errorf("write key: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("convert public key: %w", err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " ferry-test"
	if err := os.WriteFile(path+".pub", []byte(line+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("write public key: %w", err)
	}
	return line, nil
}

// writeKnownHosts writes one "name type base64" line per key.
func writeKnownHosts(path, name string, keys []string) error {
	if len(keys) == 0 {
		return errors.New("container printed no host keys")
	}
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %s\n", name, k)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write known_hosts: %w", err)
	}
	return nil
}

// awaitBanner connects to addr until the SSH version banner arrives. sshd
// already listens in the container; the retries only cover the published
// port's forwarding catching up.
func awaitBanner(ctx context.Context, addr string) error {
	var last error
	for attempt := 0; ; attempt++ {
		if last = readBanner(addr); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("read ssh banner from %s: %w", addr, last)
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
}

func readBanner(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "SSH-") {
		return fmt.Errorf("unexpected banner %q", line)
	}
	return nil
}

// docker runs the docker CLI and returns its stdout; an error carries the
// tail of its stderr.
func dockerCLI(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %w (stderr: %s)", args[0], err, outputTail(stderr.String()))
	}
	return stdout.String(), nil
}

var containerNameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// containerName is unique and says which test made the container.
func containerName(t testing.TB) string {
	name := strings.ToLower(containerNameUnsafe.ReplaceAllString(t.Name(), "-"))
	if len(name) > 40 {
		name = name[:40]
	}
	return "ferry-test-" + strings.Trim(name, "-.") + "-" + strings.ToLower(rand.Text()[:8])
}

// freePort returns a loopback port that was free a moment ago.
func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last 2 KiB of s, trimmed.
func outputTail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 2048 {
		s = "..." + s[len(s)-2048:]
	}
	return s
}

// requireHDIImage builds (once per content) and returns the head-node test
// image, ferry-test-hdi:<tag>; call it after requireTargetImage.
func requireHDIImage(t testing.TB) string {
	t.Helper()
	root, err := findRepoRoot()
	if err != nil {
		SkipOrFail(t, fmt.Sprintf("find scripts/build-hdi-image.sh: %v", err))
	}
	out, err := exec.Command("bash", filepath.Join(root, "scripts", "build-hdi-image.sh")).Output()
	if err != nil {
		SkipOrFail(t, fmt.Sprintf("build head-node image: %v (output: %s)", err, outputTail(string(out))))
	}
	lines := strings.Fields(string(out))
	if len(lines) == 0 {
		SkipOrFail(t, "build-hdi-image.sh printed no image name")
	}
	return lines[len(lines)-1]
}
