package docker

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/hashicorp/go-hclog"
)

// testBase is the local image the engine tests build on (no registry here).
const testBase = "ferry-test-target:latest"

// requireEngine returns a Client on the real engine, with testBase present
// (built by scripts/build-test-image.sh when missing), or skips/fails.
func requireEngine(t *testing.T) *Client {
	t.Helper()
	c, err := New(hclog.New(&hclog.LoggerOptions{Output: t.Output(), Level: hclog.Debug}))
	if err != nil {
		testutil.SkipOrFail(t, err.Error())
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Ping(t.Context()); err != nil {
		testutil.SkipOrFail(t, "docker engine: "+err.Error())
	}
	if err := exec.Command("docker", "image", "inspect", testBase).Run(); err != nil {
		out, err := exec.Command("bash", "../../scripts/build-test-image.sh").CombinedOutput()
		if err != nil {
			testutil.SkipOrFail(t, "build "+testBase+": "+err.Error()+": "+string(out))
		}
	}
	return c
}

// dockerOut runs the docker CLI and returns its trimmed stdout.
func dockerOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).Output()
	if err != nil {
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// runLabel is a label unique to one test, to find its containers.
func runLabel() (string, map[string]string) {
	v := strings.ToLower(rand.Text()[:10])
	return "label=ferry.test=" + v, map[string]string{"ferry.test": v}
}

func TestPing(t *testing.T) {
	c := requireEngine(t)
	v, err := c.Ping(t.Context())
	if err != nil || v == "" {
		t.Fatalf("Ping = %q, %v", v, err)
	}
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	bad, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	_, err = bad.Ping(t.Context())
	var ue *UnavailableError
	if !errors.As(err, &ue) || ue.Hint == "" || !strings.Contains(err.Error(), "/nonexistent/docker.sock") {
		t.Fatalf("Ping on a missing socket = %v, want *UnavailableError naming it", err)
	}
}

func TestRunOutputAndExitCode(t *testing.T) {
	c := requireEngine(t)
	for _, code := range []int{0, 3} {
		filter, labels := runLabel()
		var log bytes.Buffer
		script := "import sys; print('to-stdout', flush=True); print('to-stderr', file=sys.stderr); sys.exit(" + string(rune('0'+code)) + ")"
		exit, err := c.Run(t.Context(), RunOptions{Image: testBase, Argv: []string{"python3", "-c", script},
			WorkDir: t.TempDir(), Labels: labels, Log: &log})
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got := exit.Code; got != code {
			t.Errorf("exit code = %d, want %d", got, code)
		}
		if !strings.Contains(log.String(), "to-stdout\n") || !strings.Contains(log.String(), "to-stderr\n") {
			t.Errorf("log = %q, want both streams", log.String())
		}
		if left := dockerOut(t, "ps", "-aq", "--filter", filter); left != "" {
			t.Errorf("container %s left behind", left)
		}
	}
}

func TestRunOwnershipAndShm(t *testing.T) {
	c := requireEngine(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	exit, err := c.Run(t.Context(), RunOptions{Image: testBase, WorkDir: dir, User: "1234:2345", Log: &log,
		Argv: []string{"sh", "-c", "mkdir outputs && echo x > outputs/model.txt && df -k /dev/shm | tail -n 1"}})
	if err != nil || exit.Code != 0 {
		t.Fatalf("Run = %d, %v (log %q)", exit.Code, err, log.String())
	}
	fi, err := os.Stat(filepath.Join(dir, "outputs", "model.txt"))
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 1234 || st.Gid != 2345 {
		t.Errorf("output owned by %d:%d, want 1234:2345", st.Uid, st.Gid)
	}
	if fields := strings.Fields(log.String()); len(fields) < 2 || fields[1] != "2097152" {
		t.Errorf("df /dev/shm = %q, want 2097152 1K-blocks", log.String())
	}
}

// signalWriter is a Log that closes seen once the output contains want.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.seen != nil && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
		w.seen = nil
	}
	return len(p), nil
}

func TestStopAndCancel(t *testing.T) {
	c := requireEngine(t)
	tests := []struct {
		name     string
		cancel   bool
		wantCode int
	}{
		{"stop", false, 143},
		{"cancel ctx", true, 143},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			filter, labels := runLabel()
			name := "ferry-test-" + labels["ferry.test"]
			seen := make(chan struct{})
			log := &signalWriter{want: "started", seen: seen}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			type result struct {
				code int
				err  error
			}
			done := make(chan result, 1)
			go func() {
				exit, err := c.Run(ctx, RunOptions{Image: testBase, Name: name, WorkDir: t.TempDir(), Labels: labels,
					Log: log, StopGrace: 5 * time.Second, Argv: []string{"sh", "-c", "echo started; exec sleep 300"}})
				done <- result{exit.Code, err}
			}()
			select {
			case <-seen:
			case r := <-done:
				t.Fatalf("Run ended early: %d, %v", r.code, r.err)
			}
			start := time.Now()
			if tt.cancel {
				cancel()
			} else if err := c.Stop(t.Context(), name, 5*time.Second); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			r := <-done
			if elapsed := time.Since(start); elapsed > 4*time.Second {
				t.Errorf("stop took %v; SIGTERM should end sleep under init at once", elapsed)
			}
			if r.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (error: %v)", r.code, tt.wantCode, r.err)
			}
			if tt.cancel != errors.Is(r.err, context.Canceled) || (!tt.cancel && r.err != nil) {
				t.Errorf("Run error = %v", r.err)
			}
			if left := dockerOut(t, "ps", "-aq", "--filter", filter); left != "" {
				t.Errorf("container %s left behind", left)
			}
			if err := c.Stop(t.Context(), name, time.Second); err != nil {
				t.Errorf("Stop of a removed container: %v", err)
			}
		})
	}
}

// removeImage deletes ref at the end of the test.
func removeImage(t *testing.T, ref string) {
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", ref).Run() })
}

func TestEnsureImageBuildsOnce(t *testing.T) {
	c := requireEngine(t)
	spec := Spec{Dockerfile: []byte("FROM " + testBase + "\n# " + rand.Text() + "\nRUN echo hi > /hi\n")}
	ref := ImageName(Key(spec))
	removeImage(t, ref)
	var wg sync.WaitGroup
	imgs := make([]Image, 2)
	errs := make([]error, 2)
	var log bytes.Buffer
	for i := range imgs {
		wg.Go(func() { imgs[i], errs[i] = c.EnsureImage(t.Context(), spec, &lockedWriter{w: &log}) })
	}
	wg.Wait()
	for i := range imgs {
		if errs[i] != nil {
			t.Fatalf("EnsureImage: %v", errs[i])
		}
		if imgs[i].Ref != ref || imgs[i].ID == "" {
			t.Errorf("image = %+v, want ref %s", imgs[i], ref)
		}
	}
	if imgs[0].Built == imgs[1].Built {
		t.Errorf("built = %v, %v: want exactly one build", imgs[0].Built, imgs[1].Built)
	}
	if !strings.Contains(log.String(), "RUN echo hi > /hi") {
		t.Errorf("build log = %q", log.String())
	}
	start := time.Now()
	again, err := c.EnsureImage(t.Context(), spec, nil)
	if err != nil || again.Built || again.ID != imgs[0].ID {
		t.Fatalf("second EnsureImage = %+v, %v; want the same image, not built", again, err)
	}
	t.Logf("reuse took %v", time.Since(start))
	if got := dockerOut(t, "image", "inspect", "--format", `{{index .Config.Labels "ferry.key"}}`, ref); got != Key(spec) {
		t.Errorf("label ferry.key = %q, want %q", got, Key(spec))
	}
	var out bytes.Buffer
	if exit, err := c.Run(t.Context(), RunOptions{Image: ref, Argv: []string{"cat", "/hi"}, WorkDir: t.TempDir(), Log: &out}); err != nil || exit.Code != 0 || out.String() != "hi\n" {
		t.Errorf("cat /hi = %d, %v, %q", exit.Code, err, out.String())
	}
}

// lockedWriter serialises writes from concurrent builds.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestEnsureImageErrors(t *testing.T) {
	c := requireEngine(t)
	tests := []struct {
		name    string
		spec    Spec
		want    string
		wantLog string
		missing bool
	}{
		{"failing RUN", Spec{Dockerfile: []byte("FROM " + testBase + "\nRUN exit 7\n")}, "returned a non-zero code: 7", "RUN exit 7", false},
		{"no conda tool", Spec{BaseImage: testBase, CondaSpec: []byte("name: x\ndependencies: [python=3.11]\n")}, "returned a non-zero code: 127", "\nferry: the image has none of micromamba, mamba, conda", false},
		{"missing base image", Spec{BaseImage: "ferry-no-such-image:nope"}, "ferry-no-such-image:nope", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			removeImage(t, ImageName(Key(tt.spec)))
			var log bytes.Buffer
			start := time.Now()
			_, err := c.EnsureImage(t.Context(), tt.spec, &log)
			t.Logf("error after %v: %v", time.Since(start), err)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("EnsureImage error = %v, want it to contain %q (log %q)", err, tt.want, log.String())
			}
			if !strings.Contains(log.String(), tt.wantLog) {
				t.Errorf("build log = %q, want %q in it", log.String(), tt.wantLog)
			}
			// The image of the last step that succeeded is gone: no
			// "<none>" image is left behind (the FROM image stays).
			steps := regexp.MustCompile(`(?m)^ ---> ([0-9a-f]{12,64})$`).FindAllStringSubmatch(log.String(), -1)
			if n := len(steps); n > 1 {
				if _, err := c.api.ImageInspect(t.Context(), steps[n-1][1]); err == nil {
					t.Errorf("the failed build left the image of its last step, %s", steps[n-1][1])
				}
			}
			if n := len(steps); n > 0 {
				if _, err := c.api.ImageInspect(t.Context(), steps[0][1]); err != nil {
					t.Errorf("the failed build removed its FROM image %s: %v", steps[0][1], err)
				}
			}
			var be *BuildError
			if tt.missing != errors.Is(err, ErrImageMissing) || tt.missing == errors.As(err, &be) {
				t.Errorf("error %v: ErrImageMissing=%v BuildError=%v", err, errors.Is(err, ErrImageMissing), errors.As(err, &be))
			}
		})
	}
}

func TestEnsureImageBaseOnly(t *testing.T) {
	c := requireEngine(t)
	img, err := c.EnsureImage(t.Context(), Spec{BaseImage: testBase}, nil)
	if err != nil || img.Ref != testBase || img.Built || img.ID == "" {
		t.Fatalf("EnsureImage(base) = %+v, %v", img, err)
	}
}
