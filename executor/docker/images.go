package docker

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/ferry-ml/ferry/executor/docker/engine"
)

// Sentinel errors of RemoveImage.
var (
	// ErrImageNotFound: no derived image carries that key.
	ErrImageNotFound = errors.New("docker image not found")
	// ErrImageInUse: a container, running or stopped, uses the image.
	ErrImageInUse = errors.New("docker image is in use by a container")
)

// keyRE matches a Key: 64 lower-case hex digits.
var keyRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ImageInfo describes one derived image on the engine.
type ImageInfo struct {
	// Ref is its tag, ferry-env:<key12>.
	Ref string
	// ID is the engine's image id ("sha256:…").
	ID string
	// Key is the full key of its ferry.key label.
	Key string
	// Size is its size in bytes, base layers included (as docker images
	// shows it).
	Size int64
	// CreatedAt is when it was built.
	CreatedAt time.Time
}

// ListImages returns the derived images on the engine, oldest first: the
// images labelled ferry.key=<key> and tagged ferry-env:<key12> of that key.
// An image that only inherits the label (a user's image built FROM a
// ferry-env image) or lost its tag to a later build is not listed.
func (c *Client) ListImages(ctx context.Context) ([]ImageInfo, error) {
	sums, err := c.api.ImageList(ctx, LabelKey)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	return derivedImages(sums), nil
}

// InspectBase describes a base image (one runs use as it is) by its
// reference; ErrImageNotFound when the engine does not have it.
func (c *Client) InspectBase(ctx context.Context, ref string) (ImageInfo, error) {
	info, err := c.api.ImageInspect(ctx, ref)
	if engine.IsNotFound(err) {
		return ImageInfo{}, fmt.Errorf("inspect image %s: %w", ref, ErrImageNotFound)
	}
	if err != nil {
		return ImageInfo{}, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	created, _ := time.Parse(time.RFC3339Nano, info.Created)
	return ImageInfo{Ref: ref, ID: info.ID, Size: info.Size, CreatedAt: created.UTC()}, nil
}

// RemoveImage removes the derived image of key: its ferry-env:<key12> tag,
// and the image with it unless someone tagged it again under another name.
// It fails with ErrImageNotFound when that tag is missing or holds an image
// of another key, and with ErrImageInUse while a container uses the image.
func (c *Client) RemoveImage(ctx context.Context, key string) error {
	if !keyRE.MatchString(key) {
		return fmt.Errorf("remove image of key %q: %w", key, ErrImageNotFound)
	}
	ref := ImageName(key)
	info, err := c.api.ImageInspect(ctx, ref)
	if engine.IsNotFound(err) {
		return fmt.Errorf("remove image %s: %w", ref, ErrImageNotFound)
	}
	if err != nil {
		return fmt.Errorf("inspect image %s: %w", ref, err)
	}
	if info.Labels()[LabelKey] != key {
		return fmt.Errorf("remove image %s: it carries another key: %w", ref, ErrImageNotFound)
	}
	err = c.api.ImageRemove(ctx, ref)
	switch {
	case engine.IsNotFound(err):
		return fmt.Errorf("remove image %s: %w", ref, ErrImageNotFound)
	case engine.IsConflict(err):
		return fmt.Errorf("remove image %s: %w: %w", ref, ErrImageInUse, err)
	case err != nil:
		return fmt.Errorf("remove image %s: %w", ref, err)
	}
	c.log.Info("removed image", "image", ref, "id", info.ID)
	return nil
}

// derivedImages picks the derived images out of a label-filtered listing:
// those tagged with the ferry-env name of their own key label.
func derivedImages(sums []engine.ImageSummary) []ImageInfo {
	var out []ImageInfo
	for _, s := range sums {
		key := s.Labels[LabelKey]
		if !keyRE.MatchString(key) || !slices.Contains(s.RepoTags, ImageName(key)) {
			continue
		}
		out = append(out, ImageInfo{Ref: ImageName(key), ID: s.ID, Key: key, Size: s.Size,
			CreatedAt: time.Unix(s.Created, 0).UTC()})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}
