package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ImageInspect describes the image ref (a name, name:tag or id).
func (c *Client) ImageInspect(ctx context.Context, ref string) (Image, error) {
	var img Image
	err := c.call(ctx, request{method: http.MethodGet, path: "/images/" + ref + "/json"}, nil, &img)
	return img, err
}

// ImagePull pulls ref ("ubuntu", "ubuntu:22.04", "x@sha256:…"; no tag
// means latest) and returns the engine's progress stream, JSON messages
// that end in an error message when the pull failed. The caller closes it.
func (c *Client) ImagePull(ctx context.Context, ref string) (io.ReadCloser, error) {
	name, tag := splitRef(ref)
	resp, err := c.do(ctx, request{method: http.MethodPost, path: "/images/create",
		query: url.Values{"fromImage": {name}, "tag": {tag}}})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// splitRef splits an image reference into the name and the tag or digest
// the pull endpoint takes apart.
func splitRef(ref string) (name, tag string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}

// BuildOptions are the classic builder's options ferry uses.
type BuildOptions struct {
	// Tag names the built image.
	Tag string
	// Dockerfile is the Dockerfile's name inside the context.
	Dockerfile string
	// Labels are set on the built image.
	Labels map[string]string
}

// ImageBuild builds an image with the classic builder from buildContext
// (a tar stream), removing intermediate containers even when a step
// fails. It returns the build's stream of JSON messages; a failed step is
// an error message in it, not an error here. The caller closes it.
func (c *Client) ImageBuild(ctx context.Context, buildContext io.Reader, o BuildOptions) (io.ReadCloser, error) {
	labels, err := json.Marshal(o.Labels)
	if err != nil {
		return nil, fmt.Errorf("build image %s: %w", o.Tag, err)
	}
	q := url.Values{"t": {o.Tag}, "dockerfile": {o.Dockerfile}, "labels": {string(labels)},
		"rm": {"1"}, "forcerm": {"1"}, "version": {"1"}}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: "/build", query: q, body: buildContext,
		header: http.Header{"Content-Type": {"application/x-tar"}}})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// ImageList lists the images that carry the label (whatever its value).
func (c *Client) ImageList(ctx context.Context, label string) ([]ImageSummary, error) {
	filters, err := json.Marshal(map[string]map[string]bool{"label": {label: true}})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var out []ImageSummary
	err = c.call(ctx, request{method: http.MethodGet, path: "/images/json",
		query: url.Values{"filters": {string(filters)}}}, nil, &out)
	return out, err
}

// ImageRemove removes the tag or image ref, and the untagged parents it
// leaves. The engine refuses (a conflict) while a container uses it.
func (c *Client) ImageRemove(ctx context.Context, ref string) error {
	return c.call(ctx, request{method: http.MethodDelete, path: "/images/" + ref}, nil, nil)
}
