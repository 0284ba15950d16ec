package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// dockerBaseImage is the test target's image: a Debian bookworm rootfs
// with python3 (scripts/build-test-image.sh).
const dockerBaseImage = "ferry-test-target:latest"

const dockerScript = `import os, sys, time, ferry_run
osr = open("/etc/os-release").read()
print("CODENAME " + osr.split("VERSION_CODENAME=")[1].split()[0])
print("INIT " + open("/proc/1/cmdline").read().split("\0")[0])
print("CWD " + os.getcwd())
if os.path.exists("/built"):
    print("BUILT " + open("/built").read().strip())
if sys.argv[1:] == ["sleep"]:
    print("SLEEPING", flush=True)
    time.sleep(300)
ferry_run.log("acc", 0.75, step=2)
with open(os.path.join(os.environ["FERRY_OUTPUTS_DIR"], "model.txt"), "w") as f:
    f.write("weights")
sys.exit(int(sys.argv[1]) if sys.argv[1:] else 0)
`

// requireDockerImage skips (or fails) without a Docker engine, and builds
// the base image when it is missing.
func requireDockerImage(t *testing.T) {
	t.Helper()
	testutil.RequireCommand(t, "docker")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		testutil.SkipOrFail(t, fmt.Sprintf("docker engine not answering: %v (%s)", err, out))
	}
	if exec.CommandContext(ctx, "docker", "image", "inspect", dockerBaseImage).Run() == nil {
		return
	}
	if out, err := exec.CommandContext(ctx, "bash", "../scripts/build-test-image.sh").CombinedOutput(); err != nil {
		testutil.SkipOrFail(t, fmt.Sprintf("build %s: %v (%s)", dockerBaseImage, err, out))
	}
}

// TestDockerRun: a --docker-image run executes inside a container (the
// image's OS, docker-init as pid 1, the work dir mounted), its exit code
// propagates, metrics via ferry_run and outputs come back, the outputs on
// the target belong to the executor's user.
func TestDockerRun(t *testing.T) {
	requireDockerImage(t)
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"train.py": dockerScript})
	r := c.mustRun(src, "run", "--docker-image", dockerBaseImage, "train.py")
	id := checkDockerRun(t, c, src, r)
	onTarget := filepath.Join(c.home, "local", "runs", id, "work", "outputs", "model.txt")
	fi, err := os.Stat(onTarget)
	if err != nil {
		t.Fatalf("output on the target: %v", err)
	}
	if uid := fi.Sys().(*syscall.Stat_t).Uid; int(uid) != os.Getuid() {
		t.Errorf("%s owned by uid %d, want the executor's %d", onTarget, uid, os.Getuid())
	}

	r = c.run(src, "run", "--docker-image", dockerBaseImage, "train.py", "3")
	if r.Code != 3 {
		t.Fatalf("exit %d, want 3\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if rec := c.show(runIDOf(t, r.Stderr)); rec.Status != "Failed" || exitOf(rec) != 3 {
		t.Errorf("show: %s exit %d, want Failed 3", rec.Status, exitOf(rec))
	}
}

// checkDockerRun asserts what a completed run of dockerScript shows: the
// image's OS, docker-init as pid 1, the work dir, its metric, its output
// downloaded, and each of want on stdout. It returns the run id.
func checkDockerRun(t *testing.T, c *cli, src string, r result, want ...string) string {
	t.Helper()
	id := runIDOf(t, r.Stderr)
	for _, w := range append([]string{"CODENAME bookworm\n", "INIT /sbin/docker-init\n", "CWD /ferry/work\n"}, want...) {
		if !strings.Contains(r.Stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, r.Stdout)
		}
	}
	rec := c.show(id)
	if rec.Status != "Completed" || !hasMetric(rec.Metrics, "acc", 0.75, 2) {
		t.Errorf("show: status %s metrics %+v, want Completed with acc=0.75 step 2", rec.Status, rec.Metrics)
	}
	to := filepath.Join(t.TempDir(), "out")
	c.mustRun(src, "download", id, "--to", to)
	if b, err := os.ReadFile(filepath.Join(to, "model.txt")); err != nil || string(b) != "weights" {
		t.Errorf("downloaded model.txt = %q, %v", b, err)
	}
	return id
}

var buildLine = regexp.MustCompile(`ferry: building docker image (ferry-env:[0-9a-f]+)`)

// TestDockerfileBuild: a --dockerfile run builds its image once (the build
// shows in the log) and reuses it on the next run; a failing build fails
// the run with the builder's error.
func TestDockerfileBuild(t *testing.T) {
	requireDockerImage(t)
	c := newCLI(t)
	nonce := fmt.Sprintf("%d", time.Now().UnixNano())
	src := sourceDir(t, testutil.Tree{
		"train.py":   dockerScript,
		"Dockerfile": "FROM " + dockerBaseImage + "\nRUN echo built-" + nonce + " > /built\n",
		"Bad.docker": "FROM " + dockerBaseImage + "\nRUN echo " + nonce + " && exit 7\n",
	})
	first := c.mustRun(src, "run", "--dockerfile", "Dockerfile", "train.py")
	m := buildLine.FindStringSubmatch(first.Stdout)
	if m == nil {
		t.Fatalf("first run shows no build:\n%s", first.Stdout)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", m[1]).Run() })
	if key := strings.TrimPrefix(m[1], "ferry-env:"); !strings.Contains(first.Stderr, "environment docker "+key+" ") {
		t.Errorf("the plan names another key than the image %s:\n%s", m[1], first.Stderr)
	}
	if !strings.Contains(first.Stdout, "BUILT built-"+nonce+"\n") {
		t.Errorf("first run did not run in the built image:\n%s", first.Stdout)
	}
	second := c.mustRun(src, "run", "--dockerfile", "Dockerfile", "train.py")
	if buildLine.MatchString(second.Stdout) || !strings.Contains(second.Stdout, m[1]+" (cached)") {
		t.Errorf("second run rebuilt or did not say cached:\n%s", second.Stdout)
	}
	if !strings.Contains(second.Stdout, "BUILT built-"+nonce+"\n") {
		t.Errorf("second run did not run in the built image:\n%s", second.Stdout)
	}

	bad := c.run(src, "run", "--dockerfile", "Bad.docker", "train.py")
	if bad.Code == 0 {
		t.Fatalf("failing Dockerfile: ferry run exit 0\n%s", bad.Stdout)
	}
	rec := c.show(runIDOf(t, bad.Stderr))
	if rec.Status != "Failed" || !strings.Contains(rec.Reason, "non-zero code: 7") {
		t.Errorf("failing build: status %s reason %q, want Failed with the builder's error", rec.Status, rec.Reason)
	}
}

// TestDockerCancel: cancelling a docker run stops it quickly and leaves no
// container behind.
func TestDockerCancel(t *testing.T) {
	requireDockerImage(t)
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"train.py": dockerScript})
	lr := c.startRun(t, t.Context(), src, "--docker-image", dockerBaseImage, "train.py", "sleep")
	for {
		line, err := lr.stdout.ReadString('\n')
		if err != nil {
			t.Fatalf("run ended before sleeping: %v\nstderr:\n%s", err, lr.stderr)
		}
		if line == "SLEEPING\n" {
			break
		}
	}
	start := time.Now()
	c.mustRun(src, "cancel", lr.id)
	_, _, stderr := lr.wait(t)
	took := time.Since(start)
	rec := c.show(lr.id)
	if rec.Status != "Canceled" {
		t.Fatalf("status %s (reason %q), want Canceled\nstderr:\n%s", rec.Status, rec.Reason, stderr)
	}
	if took > 20*time.Second {
		t.Errorf("cancel took %s", took)
	}
	out, err := exec.Command("docker", "ps", "-a", "-q", "--filter", "label=ferry.run="+lr.id).Output()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("containers left for run %s: %q (%v)", lr.id, out, err)
	}
}

// TestDockerfileBuiltOnceByRacingRuns: two runs started together with the
// same new Dockerfile build its image once; the other waits and uses it.
func TestDockerfileBuiltOnceByRacingRuns(t *testing.T) {
	requireDockerImage(t)
	c := newCLI(t)
	nonce := fmt.Sprintf("%d", time.Now().UnixNano())
	src := sourceDir(t, testutil.Tree{
		"train.py":   dockerScript,
		"Dockerfile": "FROM " + dockerBaseImage + "\nRUN sleep 2 && echo race-" + nonce + " > /built\n",
	})
	a := c.startRun(t, t.Context(), src, "--dockerfile", "Dockerfile", "train.py")
	b := c.startRun(t, t.Context(), src, "--dockerfile", "Dockerfile", "train.py")
	outA, codeA, errA := a.wait(t)
	outB, codeB, errB := b.wait(t)
	all := outA + outB
	if m := buildLine.FindStringSubmatch(all); m != nil {
		t.Cleanup(func() { exec.Command("docker", "rmi", "-f", m[1]).Run() })
	}
	if codeA != 0 || codeB != 0 {
		t.Fatalf("exits %d, %d\n%s\n%s\n%s\n%s", codeA, codeB, outA, errA, outB, errB)
	}
	if n := len(buildLine.FindAllString(all, -1)); n != 1 || !strings.Contains(all, "being built by another run; waiting") {
		t.Errorf("%d builds, want 1 and a wait:\n%s\n---\n%s", n, outA, outB)
	}
	if strings.Count(all, "BUILT race-"+nonce+"\n") != 2 {
		t.Errorf("both runs did not run in the built image:\n%s\n---\n%s", outA, outB)
	}
}
