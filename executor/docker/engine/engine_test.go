package engine

import (
	"errors"
	"io/fs"
	"os/exec"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// requireEngine returns a client of the real engine named by the
// environment, or skips (fails in CI) when there is none.
func requireEngine(t *testing.T) *Client {
	t.Helper()
	c, err := New(FromEnv())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Version(t.Context()); err != nil {
		testutil.SkipOrFail(t, "docker engine: "+err.Error())
	}
	return c
}

// dockerVersion asks the docker CLI for a field of the server's version.
func dockerVersion(t *testing.T, field string) string {
	t.Helper()
	out, err := exec.Command("docker", "version", "--format", "{{.Server."+field+"}}").Output()
	if err != nil {
		t.Fatalf("docker version: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestNegotiatesWithTheEngine: the calls use the engine's API version,
// capped at ours, and the version is the one the docker CLI reports.
func TestNegotiatesWithTheEngine(t *testing.T) {
	c := requireEngine(t)
	want := dockerVersion(t, "APIVersion")
	if versionLess(MaxAPIVersion, want) {
		want = MaxAPIVersion
	}
	if v, err := c.APIVersion(t.Context()); err != nil || v != want {
		t.Errorf("APIVersion = %q, %v; want %q", v, err, want)
	}
	if v, err := c.Version(t.Context()); err != nil || v != dockerVersion(t, "Version") {
		t.Errorf("Version = %q, %v; want the docker CLI's", v, err)
	}
}

// TestPinnedVersion: DOCKER_API_VERSION is used as given, and an engine
// that refuses it says why.
func TestPinnedVersion(t *testing.T) {
	requireEngine(t)
	t.Setenv("DOCKER_API_VERSION", "1.40")
	c, err := New(FromEnv())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, err := c.APIVersion(t.Context()); err != nil || v != "1.40" {
		t.Errorf("APIVersion = %q, %v; want the pinned 1.40", v, err)
	}
	if _, err := c.Version(t.Context()); err != nil {
		t.Errorf("Version under 1.40: %v", err)
	}
	tooNew, err := New(Config{Host: FromEnv().Host, APIVersion: "9.99"})
	if err != nil {
		t.Fatal(err)
	}
	defer tooNew.Close()
	_, err = tooNew.Version(t.Context())
	var e *Error
	if err == nil || !strings.Contains(err.Error(), "9.99") || !errors.As(err, &e) || e.Status != 400 {
		t.Errorf("Version under 9.99 = %v, want the engine's 400 naming the version", err)
	}
}

// TestNotFound: what the engine does not have is told apart from other
// errors, with its message.
func TestNotFound(t *testing.T) {
	c := requireEngine(t)
	_, err := c.ImageInspect(t.Context(), "ferry-no-such-image:never")
	if !IsNotFound(err) || IsConflict(err) || !strings.Contains(err.Error(), "ferry-no-such-image") {
		t.Errorf("ImageInspect of a missing image = %v, want not found naming it", err)
	}
	if _, err := c.ContainerInspect(t.Context(), "ferry-no-such-container"); !IsNotFound(err) {
		t.Errorf("ContainerInspect of a missing container = %v, want not found", err)
	}
	if err := c.ContainerRemove(t.Context(), "ferry-no-such-container", true); !IsNotFound(err) {
		t.Errorf("ContainerRemove of a missing container = %v, want not found", err)
	}
}

// TestConnectError: a socket that is not there is a ConnectError, not an
// engine's answer.
func TestConnectError(t *testing.T) {
	c, err := New(Config{Host: "unix://" + t.TempDir() + "/docker.sock"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Version(t.Context())
	if !IsConnectError(err) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Version on a missing socket = %v, want a ConnectError", err)
	}
}
