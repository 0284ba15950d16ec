package docker

import (
	"crypto/rand"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/executor/docker/engine"
)

func TestDerivedImages(t *testing.T) {
	key := strings.Repeat("ab", 32)
	other := strings.Repeat("cd", 32)
	labels := func(k string) map[string]string { return map[string]string{LabelKey: k} }
	tests := []struct {
		name string
		sum  engine.ImageSummary
		want bool
	}{
		{"tagged with its key", engine.ImageSummary{ID: "sha256:1", Labels: labels(key), RepoTags: []string{"x:1", ImageName(key)}}, true},
		{"label inherited by a user image", engine.ImageSummary{ID: "sha256:2", Labels: labels(key), RepoTags: []string{"mine:latest"}}, false},
		{"untagged leftover", engine.ImageSummary{ID: "sha256:3", Labels: labels(key)}, false},
		{"tag of another key", engine.ImageSummary{ID: "sha256:4", Labels: labels(other), RepoTags: []string{ImageName(key)}}, false},
		{"label not a key", engine.ImageSummary{ID: "sha256:5", Labels: labels("ferry-env"), RepoTags: []string{"ferry-env:ferry-env"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := derivedImages([]engine.ImageSummary{tt.sum})
			if (len(got) == 1) != tt.want {
				t.Fatalf("derivedImages = %+v, want listed %v", got, tt.want)
			}
			if tt.want && (got[0].Ref != ImageName(key) || got[0].Key != key || got[0].ID != tt.sum.ID) {
				t.Errorf("derivedImages = %+v", got[0])
			}
		})
	}
}

// TestListAndRemoveImage: a built image is listed and removed by key, not
// while a container uses it; a ferry-env tag without the label is neither.
func TestListAndRemoveImage(t *testing.T) {
	c := requireEngine(t)
	spec := Spec{Dockerfile: []byte("FROM " + testBase + "\n# " + rand.Text() + "\n")}
	key := Key(spec)
	removeImage(t, ImageName(key))
	img, err := c.EnsureImage(t.Context(), spec, nil)
	if err != nil {
		t.Fatalf("EnsureImage: %v", err)
	}
	fake := ImageRepo + ":unlabelled-" + strings.ToLower(rand.Text()[:8])
	dockerOut(t, "tag", testBase, fake)
	removeImage(t, fake)

	imgs, err := c.ListImages(t.Context())
	if err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	var found *ImageInfo
	for i := range imgs {
		if imgs[i].Ref == fake {
			t.Errorf("unlabelled %s listed", fake)
		}
		if imgs[i].Key == key {
			found = &imgs[i]
		}
	}
	if found == nil || found.ID != img.ID || found.Size <= 0 || found.CreatedAt.IsZero() {
		t.Fatalf("ListImages = %+v, want %s with size and time", imgs, img.Ref)
	}

	ctr := dockerOut(t, "create", img.Ref, "true")
	if err := c.RemoveImage(t.Context(), key); !errors.Is(err, ErrImageInUse) || !strings.Contains(err.Error(), "in use") {
		t.Errorf("RemoveImage while a container uses it = %v, want ErrImageInUse", err)
	}
	dockerOut(t, "rm", ctr)
	if err := c.RemoveImage(t.Context(), key); err != nil {
		t.Fatalf("RemoveImage: %v", err)
	}
	if exec.Command("docker", "image", "inspect", img.Ref).Run() == nil {
		t.Errorf("%s still present", img.Ref)
	}
	if err := c.RemoveImage(t.Context(), key); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("RemoveImage again = %v, want ErrImageNotFound", err)
	}
	if err := c.RemoveImage(t.Context(), "unlabelled"); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("RemoveImage(bad key) = %v, want ErrImageNotFound", err)
	}
	if err := exec.Command("docker", "image", "inspect", fake).Run(); err != nil {
		t.Errorf("unlabelled %s gone: %v", fake, err)
	}
}
