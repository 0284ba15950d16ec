package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/executor/docker/engine"
	"github.com/ferry-ml/ferry/executor/docker/imagespec"
)

// ErrImageMissing is wrapped by EnsureImage's error when a base image is not
// present locally and pulling it failed (no registry, no such image, no
// credentials).
var ErrImageMissing = errors.New("image not present locally and could not be pulled")

// Image is the image EnsureImage settled on.
type Image struct {
	// Ref is what to run: the base image's reference, or ferry-env:<key12>.
	Ref string
	// ID is the engine's image id ("sha256:…").
	ID string
	// Key is Key(spec).
	Key string
	// Built is true when this call built (or pulled) the image, false
	// when it was already present.
	Built bool
}

// EnsureImage makes the image for s present and returns it. A spec with no
// Dockerfile and no conda spec is its base image, pulled only when missing.
// Otherwise the derived image ferry-env:<key12>, labelled ferry.key=<key>,
// is reused when present, or built with the classic builder from a context
// this generates. Build and pull output go to w as readable lines (nil: dropped).
//
// Concurrent calls on one Client with the same key build once: the others
// wait and then reuse it. Across processes (two executors on one engine)
// both may build; the builds are equivalent, the tag ends on the last one,
// and the earlier image is left untagged until pruned.
func (c *Client) EnsureImage(ctx context.Context, s Spec, w io.Writer) (Image, error) {
	if w == nil {
		w = io.Discard
	}
	if !s.Derived() {
		return c.ensureBase(ctx, strings.TrimSpace(s.BaseImage), w)
	}
	if err := imagespec.Validate(s); err != nil {
		return Image{}, err
	}
	key := Key(s)
	ref := ImageName(key)
	if img, ok, err := c.findDerived(ctx, ref, key); err != nil || ok {
		return img, err
	}
	unlock, err := c.locks.lock(ctx, key)
	if err != nil {
		return Image{}, fmt.Errorf("wait for build of %s: %w", ref, err)
	}
	defer unlock()
	if img, ok, err := c.findDerived(ctx, ref, key); err != nil || ok {
		return img, err
	}
	return c.build(ctx, s, key, ref, w)
}

// ensureBase returns ref, pulling it when the engine lacks it.
func (c *Client) ensureBase(ctx context.Context, ref string, w io.Writer) (Image, error) {
	if ref == "" {
		return Image{}, errors.New("docker environment: no base image and no Dockerfile")
	}
	key := Key(Spec{BaseImage: ref})
	info, err := c.api.ImageInspect(ctx, ref)
	if err == nil {
		return Image{Ref: ref, ID: info.ID, Key: key}, nil
	}
	if !engine.IsNotFound(err) {
		return Image{}, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	if err := c.pull(ctx, ref, w); err != nil {
		return Image{}, err
	}
	info, err = c.api.ImageInspect(ctx, ref)
	if err != nil {
		return Image{}, fmt.Errorf("inspect pulled image %s: %w", ref, err)
	}
	return Image{Ref: ref, ID: info.ID, Key: key, Built: true}, nil
}

// pull pulls ref, reading the pull stream's own error.
func (c *Client) pull(ctx context.Context, ref string, w io.Writer) error {
	c.log.Info("pulling image", "image", ref)
	rc, err := c.api.ImagePull(ctx, ref)
	if err != nil {
		return fmt.Errorf("pull image %s: %w: %w", ref, ErrImageMissing, err)
	}
	defer rc.Close()
	res, err := readStream(rc, w)
	if err != nil {
		return fmt.Errorf("pull image %s: %w", ref, err)
	}
	if res.errMsg != "" {
		return fmt.Errorf("pull image %s: %w: %s", ref, ErrImageMissing, res.errMsg)
	}
	return nil
}

// findDerived reports whether ref exists and carries key's label.
func (c *Client) findDerived(ctx context.Context, ref, key string) (Image, bool, error) {
	info, err := c.api.ImageInspect(ctx, ref)
	if engine.IsNotFound(err) {
		return Image{}, false, nil
	}
	if err != nil {
		return Image{}, false, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	if info.Labels()[LabelKey] != key {
		// A 48-bit prefix clash, or a hand-made tag: rebuild over it.
		c.log.Warn("image tag carries another key; rebuilding", "image", ref, "key", key)
		return Image{}, false, nil
	}
	return Image{Ref: ref, ID: info.ID, Key: key}, true, nil
}

// build builds s as ref and checks the result.
func (c *Client) build(ctx context.Context, s Spec, key, ref string, w io.Writer) (Image, error) {
	buildCtx, err := buildContext(s)
	if err != nil {
		return Image{}, err
	}
	start := time.Now()
	c.log.Info("building image", "image", ref, "key", key)
	body, err := c.api.ImageBuild(ctx, bytes.NewReader(buildCtx), engine.BuildOptions{
		Tag:        ref,
		Dockerfile: imagespec.DockerfileName,
		Labels:     map[string]string{LabelKey: key},
	})
	if err != nil {
		return Image{}, fmt.Errorf("build image %s: %w", ref, err)
	}
	defer body.Close()
	res, err := readStream(body, w)
	if err != nil {
		return Image{}, fmt.Errorf("build image %s: %w", ref, err)
	}
	if res.errMsg != "" {
		c.removeFailedSteps(context.WithoutCancel(ctx), res.steps)
		return Image{}, &BuildError{Image: ref, Message: res.errMsg}
	}
	img, ok, err := c.findDerived(ctx, ref, key)
	if err != nil {
		return Image{}, err
	}
	if !ok {
		return Image{}, fmt.Errorf("build image %s: build ended without the tagged image", ref)
	}
	c.log.Info("built image", "image", ref, "id", img.ID, "duration", time.Since(start))
	img.Built = true
	return img, nil
}

// removeFailedSteps removes what a failed build left: the classic builder
// keeps the image of each step that succeeded, and the last of them stays
// as an untagged ("<none>") image. It is removed with its untagged
// parents, unless it carries a tag (the FROM image, when no step after it
// succeeded) or another image builds on it (a layer cached for another
// build): the engine refuses those, and they stay.
func (c *Client) removeFailedSteps(ctx context.Context, steps []string) {
	if len(steps) < 2 {
		return // nothing beyond the FROM image
	}
	last := steps[len(steps)-1]
	info, err := c.api.ImageInspect(ctx, last)
	if err != nil || len(info.RepoTags) > 0 {
		return
	}
	if err := c.api.ImageRemove(ctx, last); err != nil {
		c.log.Debug("keep image of a failed build's step", "image", last, "error", err)
	}
}

// buildContext makes the tar stream the engine builds from: the generated
// Dockerfile, the conda spec and the extra context files, with fixed owners
// and times so equal specs give equal contexts.
func buildContext(s Spec) ([]byte, error) {
	files := imagespec.Files(s)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range names {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("write build context %s: %w", name, err)
		}
		if _, err := tw.Write(files[name]); err != nil {
			return nil, fmt.Errorf("write build context %s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write build context: %w", err)
	}
	return buf.Bytes(), nil
}
