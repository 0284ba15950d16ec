package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/conda"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/docker"
	"github.com/hashicorp/go-hclog"
)

// fakeImages is an in-memory engine's derived images.
type fakeImages struct {
	imgs  map[string]docker.ImageInfo
	inUse map[string]bool
}

func (f *fakeImages) ListImages(context.Context) ([]docker.ImageInfo, error) {
	var out []docker.ImageInfo
	for _, img := range f.imgs {
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

func (f *fakeImages) InspectBase(_ context.Context, ref string) (docker.ImageInfo, error) {
	return docker.ImageInfo{}, fmt.Errorf("inspect %s: %w", ref, docker.ErrImageNotFound)
}

func (f *fakeImages) RemoveImage(_ context.Context, key string) error {
	if _, ok := f.imgs[key]; !ok {
		return fmt.Errorf("remove %s: %w", key, docker.ErrImageNotFound)
	}
	if f.inUse[key] {
		return fmt.Errorf("remove %s: %w", key, docker.ErrImageInUse)
	}
	delete(f.imgs, key)
	return nil
}

// testKey is a 64-hex key starting with prefix.
func testKey(prefix string) string { return prefix + strings.Repeat("0", 64-len(prefix)) }

// envFixture is an envSet with conda environments and docker images, each
// last used at base plus the given hours.
type envFixture struct {
	set    *envSet
	images *fakeImages
	base   time.Time
}

func newEnvFixture(t *testing.T, conds, imgs map[string]int) *envFixture {
	t.Helper()
	state := t.TempDir()
	cache, err := conda.OpenCache(filepath.Join(state, "conda"), hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	f := &envFixture{images: &fakeImages{imgs: map[string]docker.ImageInfo{}, inUse: map[string]bool{}},
		base: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	for key, h := range conds {
		writeCondaEnv(t, cache.Prefix(key), key, f.base.Add(time.Duration(h)*time.Hour))
	}
	f.set = &envSet{conda: cache, images: f.images, uses: imageUses(filepath.Join(state, "docker")), log: hclog.NewNullLogger()}
	for key, h := range imgs {
		f.images.imgs[key] = docker.ImageInfo{Ref: docker.ImageName(key), ID: "sha256:" + key, Key: key, Size: 100, CreatedAt: f.base}
		if err := f.set.uses.touch(key); err != nil {
			t.Fatal(err)
		}
		at := f.base.Add(time.Duration(h) * time.Hour)
		if err := os.Chtimes(filepath.Join(string(f.set.uses), key+usedSuffix), at, at); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// writeCondaEnv makes a complete conda environment of 10 bytes at prefix,
// as conda.Cache leaves it, last used at used.
func writeCondaEnv(t *testing.T, prefix, key string, used time.Time) {
	t.Helper()
	meta := filepath.Join(prefix, ".ferry")
	if err := os.MkdirAll(meta, 0o700); err != nil {
		t.Fatal(err)
	}
	mark, _ := json.Marshal(map[string]any{"key": key, "tool": "micromamba", "created_at": used})
	for name, data := range map[string][]byte{"COMPLETE": mark, "last_used": nil} {
		if err := os.WriteFile(filepath.Join(meta, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(prefix, "python"), []byte(strings.Repeat("x", 10)), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(meta, "last_used"), used, used); err != nil {
		t.Fatal(err)
	}
}

func keysOf(envs []api.EnvInfo) []string {
	var out []string
	for _, e := range envs {
		out = append(out, e.Key[:4])
	}
	return out
}

func TestEnvSetList(t *testing.T) {
	f := newEnvFixture(t, map[string]int{testKey("c1"): 3, testKey("c2"): 1}, map[string]int{testKey("d1"): 2})
	untouched := testKey("d2")
	f.images.imgs[untouched] = docker.ImageInfo{Ref: docker.ImageName(untouched), Key: untouched, Size: 5, CreatedAt: f.base}
	envs, err := f.set.list(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// d2 was never used by this executor: another's image, not listed.
	if got, want := keysOf(envs), []string{"c200", "d100", "c100"}; !slices.Equal(got, want) {
		t.Fatalf("list order = %v, want %v (least recently used first)", got, want)
	}
	d := envs[1]
	if d.Kind != api.EnvDocker || d.Tool != "docker" || d.Prefix != docker.ImageName(d.Key) || d.Size != 100 ||
		!d.LastUsed.Equal(f.base.Add(2*time.Hour)) || !d.CreatedAt.Equal(f.base) {
		t.Errorf("docker entry = %+v", d)
	}
	if envs[0].Kind != api.EnvConda {
		t.Errorf("conda entry = %+v", envs[0])
	}

	f.set.images = nil // no engine: conda only
	if envs, err := f.set.list(t.Context()); err != nil || !slices.Equal(keysOf(envs), []string{"c200", "c100"}) {
		t.Errorf("list without an engine = %v, %v", keysOf(envs), err)
	}
}

func TestEnvSetRemove(t *testing.T) {
	d1, d2 := testKey("d1aaaaaaaaaa1"), testKey("d1aaaaaaaaaa2")
	tests := []struct {
		name    string
		key     string
		inUse   bool
		want    string // key[:4] removed, "" for an error
		wantErr error
	}{
		{"full docker key", d1, false, "d1aa", nil},
		{"conda prefix", testKey("c1")[:12], false, "c100", nil},
		{"docker prefix", testKey("e1")[:12], false, "e100", nil},
		{"ambiguous prefix", d1[:12], false, "", errEnvAmbiguous},
		{"too short", "c1", false, "", errEnvKey},
		{"not hex", "../../../etc/passwd", false, "", errEnvKey},
		{"unknown prefix", testKey("ff")[:12], false, "", errEnvNotFound},
		{"unknown full key", testKey("ff"), false, "", conda.ErrNotFound},
		{"image in use", testKey("e1"), true, "", docker.ErrImageInUse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newEnvFixture(t, map[string]int{testKey("c1"): 1}, map[string]int{d1: 2, d2: 3, testKey("e1"): 4})
			f.images.inUse[testKey("e1")] = tt.inUse
			e, err := f.set.remove(t.Context(), tt.key)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("remove(%s) = %v, want %v", tt.key, err, tt.wantErr)
				}
				return
			}
			if err != nil || e.Key[:4] != tt.want {
				t.Fatalf("remove(%s) = %+v, %v; want %s", tt.key, e, err, tt.want)
			}
			envs, _ := f.set.list(t.Context())
			if slices.ContainsFunc(envs, func(x api.EnvInfo) bool { return x.Key == e.Key }) || len(envs) != 3 {
				t.Errorf("after remove: %v", keysOf(envs))
			}
			if _, ok := f.set.uses.lastUsed(e.Key); ok {
				t.Errorf("use record of %s left behind", tt.want)
			}
		})
	}
}

func TestPlanPrune(t *testing.T) {
	envs := []api.EnvInfo{{Key: "a", Size: 30}, {Key: "b", Size: 20}, {Key: "c", Size: 10}} // oldest first
	tests := []struct {
		name       string
		keep       int
		maxSize    int64
		drop, kept string
	}{
		{"keep all", -1, 0, "", "cba"},
		{"keep none", 0, 0, "cba", ""},
		{"keep one", 1, 0, "ba", "c"},
		{"size", -1, 35, "a", "cb"},
		{"size skips a big one", -1, 40, "a", "cb"},
		{"count and size", 2, 100, "a", "cb"},
	}
	join := func(es []api.EnvInfo) string {
		var s string
		for _, e := range es {
			s += e.Key
		}
		return s
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			drop, kept := planPrune(envs, tt.keep, tt.maxSize)
			if join(drop) != tt.drop || join(kept) != tt.kept {
				t.Errorf("planPrune(%d, %d) = drop %q keep %q, want %q %q", tt.keep, tt.maxSize, join(drop), join(kept), tt.drop, tt.kept)
			}
		})
	}
}

func TestEnvSetPrune(t *testing.T) {
	f := newEnvFixture(t, map[string]int{testKey("c1"): 1, testKey("c2"): 4}, map[string]int{testKey("d1"): 2, testKey("d2"): 3})
	f.images.inUse[testKey("d1")] = true
	removed, kept, err := f.set.prune(t.Context(), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(removed); !slices.Equal(got, []string{"d200", "c100"}) {
		t.Errorf("removed %v, want d2 and c1 (d1 is in use)", got)
	}
	if got := keysOf(kept); !slices.Equal(got, []string{"c200", "d100"}) {
		t.Errorf("kept %v, want c2 and the in-use d1", got)
	}
	if _, ok := f.images.imgs[testKey("d2")]; ok {
		t.Error("image d2 not removed")
	}
}

func TestImageUses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "envs", "docker")
	u := imageUses(dir)
	key := testKey("ab")
	if _, ok := u.lastUsed(key); ok {
		t.Fatal("lastUsed before any use")
	}
	before := time.Now().Add(-time.Second)
	if err := u.touch(key); err != nil {
		t.Fatal(err)
	}
	at, ok := u.lastUsed(key)
	if !ok || at.Before(before) {
		t.Fatalf("lastUsed = %v, %v; want about now", at, ok)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, key+usedSuffix): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", path, fi.Mode().Perm(), err, want)
		}
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(dir, key+usedSuffix), old, old)
	if err := u.touch(key); err != nil {
		t.Fatal(err)
	}
	if at, _ := u.lastUsed(key); at.Before(before) {
		t.Errorf("touch did not move the last use: %v", at)
	}
	if err := u.forget(key); err != nil {
		t.Fatal(err)
	}
	if _, ok := u.lastUsed(key); ok {
		t.Error("lastUsed after forget")
	}
	if err := u.forget(key); err != nil {
		t.Errorf("forget twice: %v", err)
	}
	if err := u.touch("../x"); err == nil {
		t.Error("touch of a path accepted")
	}
}

// TestOpenEnvsWithoutEngine: a target without a docker engine lists its
// conda environments and says why there are no images in a debug log.
func TestOpenEnvsWithoutEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	var logs strings.Builder
	state := t.TempDir()
	r := &Runner{log: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug}), runsDir: filepath.Join(state, runsDirName)}
	set, closeSet, err := r.openEnvs(t.Context())
	if err != nil {
		t.Fatalf("openEnvs: %v", err)
	}
	defer closeSet()
	cache, _ := r.condaCache()
	writeCondaEnv(t, cache.Prefix(testKey("c1")), testKey("c1"), time.Now())
	envs, err := set.list(t.Context())
	if err != nil || set.images != nil || len(envs) != 1 || envs[0].Kind != api.EnvConda {
		t.Fatalf("list = %+v, %v (images %v); want the conda environment alone", envs, err, set.images)
	}
	if !strings.Contains(logs.String(), "[DEBUG] docker images not listed") {
		t.Errorf("no debug line on the missing engine:\n%s", logs.String())
	}
}
