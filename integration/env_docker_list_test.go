package integration

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// envRecord is one entry of `ferry env list --json`.
type envRecord struct {
	Key       string    `json:"key"`
	Kind      string    `json:"kind"`
	Prefix    string    `json:"prefix"`
	Size      int64     `json:"size"`
	Tool      string    `json:"tool"`
	CreatedAt time.Time `json:"created_at"`
	LastUsed  time.Time `json:"last_used"`
	Base      bool      `json:"base"`
}

// pruneRecord is `ferry env prune --json`.
type pruneRecord struct {
	Removed []envRecord `json:"removed"`
	Kept    []envRecord `json:"kept"`
}

// buildDockerEnv runs train.py with --dockerfile file and returns the
// image it built, removed at the end of the test.
func buildDockerEnv(t *testing.T, c *cli, src, file string) string {
	t.Helper()
	r := c.mustRun(src, "run", "--dockerfile", file, "train.py")
	m := buildLine.FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("run with %s built no image:\n%s", file, r.Stdout)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", m[1]).Run() })
	return m[1]
}

// listEnvs returns `ferry env list --json`.
func listEnvs(t *testing.T, c *cli, src string) []envRecord {
	t.Helper()
	var envs []envRecord
	if err := json.Unmarshal([]byte(c.mustRun(src, "env", "list", "--json").Stdout), &envs); err != nil {
		t.Fatalf("env list --json: %v", err)
	}
	return envs
}

// envIndex returns the position of the environment whose prefix is ref, or -1.
func envIndex(envs []envRecord, ref string) int {
	for i, e := range envs {
		if e.Prefix == ref {
			return i
		}
	}
	return -1
}

func imageExists(ref string) bool {
	return exec.Command("docker", "image", "inspect", ref).Run() == nil
}

// TestEnvDockerListRemove: images built for --dockerfile runs are listed as
// docker environments, least recently used first (a cached run counts as a
// use), and `ferry env rm KEY12` removes one, unless a container uses it.
func TestEnvDockerListRemove(t *testing.T) {
	requireDockerImage(t)
	c := newCLI(t)
	nonce := fmt.Sprintf("%d", time.Now().UnixNano())
	src := sourceDir(t, testutil.Tree{
		"train.py": dockerScript,
		"A.docker": "FROM " + dockerBaseImage + "\nRUN echo list-a-" + nonce + " > /built\n",
		"B.docker": "FROM " + dockerBaseImage + "\nRUN echo list-b-" + nonce + " > /built\n",
	})
	a := buildDockerEnv(t, c, src, "A.docker")
	b := buildDockerEnv(t, c, src, "B.docker")
	c.mustRun(src, "run", "--dockerfile", "A.docker", "train.py") // cached: a use of A
	envs := listEnvs(t, c, src)
	ia, ib := envIndex(envs, a), envIndex(envs, b)
	if ia < 0 || ib < 0 {
		t.Fatalf("env list lacks %s or %s: %+v", a, b, envs)
	}
	if ib > ia {
		t.Errorf("env list has %s (used last) before %s: %+v", a, b, envs)
	}
	ea := envs[ia]
	if ea.Kind != "docker" || ea.Tool != "docker" || ea.Size <= 0 || !strings.HasPrefix(a, "ferry-env:"+ea.Key[:12]) ||
		ea.LastUsed.Before(ea.CreatedAt) || ea.LastUsed.Before(envs[ib].LastUsed) {
		t.Errorf("env list entry of %s = %+v", a, ea)
	}
	if out := c.mustRun(src, "env", "list").Stdout; !strings.Contains(out, ea.Key[:12]+"  docker ") {
		t.Errorf("env list table lacks %s as docker:\n%s", ea.Key[:12], out)
	}

	ctr, err := exec.Command("docker", "create", a, "true").Output()
	if err != nil {
		t.Fatalf("docker create %s: %v", a, err)
	}
	r := c.run(src, "env", "rm", ea.Key[:12])
	exec.Command("docker", "rm", strings.TrimSpace(string(ctr))).Run()
	if r.Code == 0 || !strings.Contains(r.Stderr, "in use by a container") || !imageExists(a) {
		t.Fatalf("env rm of an image in use: exit %d, image kept %v\n%s", r.Code, imageExists(a), r.Stderr)
	}
	c.mustRun(src, "env", "rm", ea.Key[:12])
	if imageExists(a) {
		t.Errorf("%s still present after env rm", a)
	}
	if envIndex(listEnvs(t, c, src), a) >= 0 {
		t.Errorf("%s still listed after env rm", a)
	}
	if !imageExists(b) || !imageExists(dockerBaseImage) {
		t.Errorf("env rm of %s took %s or the base image too", a, b)
	}
}

// TestEnvDockerPrune: prune --keep 0 removes ferry's images together with
// the conda environments, never an image without the ferry.key label, even
// one tagged ferry-env, and never the base image. Like on a target, it
// prunes every ferry image on this engine.
func TestEnvDockerPrune(t *testing.T) {
	requireDockerImage(t)
	c, _ := condaCLI(t)
	nonce := fmt.Sprintf("%d", time.Now().UnixNano())
	src := sourceDir(t, testutil.Tree{
		"train.py":   dockerScript,
		"Dockerfile": "FROM " + dockerBaseImage + "\nRUN echo prune-" + nonce + " > /built\n",
		"env.yml":    "name: demo\ndependencies:\n- python=3.11\n",
		"host.py":    "print('on the host')\n",
	})
	ref := buildDockerEnv(t, c, src, "Dockerfile")
	c.mustRun(src, "run", "--conda-file", "env.yml", "host.py")
	unlabelled := "ferry-env:unlabelled-" + nonce
	if out, err := exec.Command("docker", "tag", dockerBaseImage, unlabelled).CombinedOutput(); err != nil {
		t.Fatalf("docker tag: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", unlabelled).Run() })
	if envIndex(listEnvs(t, c, src), unlabelled) >= 0 {
		t.Errorf("env list shows %s, which has no ferry.key label", unlabelled)
	}

	var res pruneRecord
	if err := json.Unmarshal([]byte(c.mustRun(src, "env", "prune", "--keep", "0", "--json").Stdout), &res); err != nil {
		t.Fatalf("env prune --json: %v", err)
	}
	i := envIndex(res.Removed, ref)
	if i < 0 || res.Removed[i].Kind != "docker" || len(res.Kept) != 0 {
		t.Fatalf("prune did not remove %s, or kept some: %+v", ref, res)
	}
	if !slices.ContainsFunc(res.Removed, func(e envRecord) bool { return e.Kind == "conda" }) {
		t.Errorf("prune removed no conda environment: %+v", res.Removed)
	}
	if imageExists(ref) {
		t.Errorf("%s still present after prune", ref)
	}
	if !imageExists(unlabelled) || !imageExists(dockerBaseImage) {
		t.Errorf("prune removed %s or %s", unlabelled, dockerBaseImage)
	}
	if envIndex(listEnvs(t, c, src), ref) >= 0 {
		t.Errorf("%s still listed after prune", ref)
	}
}

// TestEnvDockerListBase: a base image runs used as it is is listed (kind
// docker, the image, base, its last use, the plan's key); env rm forgets it
// and leaves the image on the engine, and prune never removes it.
func TestEnvDockerListBase(t *testing.T) {
	requireDockerImage(t)
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"train.py": dockerScript})
	r := c.mustRun(src, "run", "--docker-image", dockerBaseImage, "train.py")
	before := time.Now()
	c.mustRun(src, "run", "--docker-image", dockerBaseImage, "train.py")
	envs := listEnvs(t, c, src)
	i := envIndex(envs, dockerBaseImage)
	if i < 0 {
		t.Fatalf("env list lacks the base image %s after two runs on it: %+v", dockerBaseImage, envs)
	}
	e := envs[i]
	if e.Kind != "docker" || !e.Base || e.Size <= 0 || e.LastUsed.Before(before.Add(-time.Second)) ||
		!strings.Contains(r.Stderr, "environment docker "+e.Key[:12]+" ") {
		t.Errorf("base image entry %+v; plan:\n%s", e, r.Stderr)
	}
	if out := c.mustRun(src, "env", "list").Stdout; !strings.Contains(out, dockerBaseImage+" (base)") {
		t.Errorf("env list table lacks the base image:\n%s", out)
	}
	var res pruneRecord
	if err := json.Unmarshal([]byte(c.mustRun(src, "env", "prune", "--keep", "0", "--json").Stdout), &res); err != nil {
		t.Fatalf("env prune --json: %v", err)
	}
	if envIndex(res.Removed, dockerBaseImage) >= 0 || !imageExists(dockerBaseImage) || envIndex(listEnvs(t, c, src), dockerBaseImage) < 0 {
		t.Fatalf("prune touched the base image: %+v", res)
	}
	rm := c.mustRun(src, "env", "rm", e.Key[:12])
	if !strings.Contains(rm.Stdout, "stays on the engine") || !imageExists(dockerBaseImage) {
		t.Fatalf("env rm of a base image: %q; image exists %v", rm.Stdout, imageExists(dockerBaseImage))
	}
	if envIndex(listEnvs(t, c, src), dockerBaseImage) >= 0 {
		t.Errorf("the base image is still listed after env rm")
	}
}
