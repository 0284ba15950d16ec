package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/ferry-ml/ferry/executor/api"
)

// Hello asks the executor who it is.
func (c *Client) Hello(ctx context.Context) (api.Hello, error) {
	var h api.Hello
	err := c.do(ctx, http.MethodGet, "/v1/hello", nil, &h)
	return h, err
}

// Shutdown asks the daemon to stop serving. Runs go on (their shims
// supervise them). It returns once the daemon acknowledged; the daemon's
// process exits shortly after.
func (c *Client) Shutdown(ctx context.Context) (api.Hello, error) {
	var h api.Hello
	err := c.do(ctx, http.MethodPost, "/v1/shutdown", nil, &h)
	return h, err
}

// Missing returns the blobs among ids that the executor lacks. With verify
// the executor re-hashes the blobs it has and reports corrupt ones missing.
func (c *Client) Missing(ctx context.Context, ids []string, verify bool) ([]string, error) {
	var resp api.MissingResponse
	err := c.do(ctx, http.MethodPost, "/v1/blobs/missing", api.MissingRequest{Blobs: ids, Verify: verify}, &resp)
	return resp.Missing, err
}

// Ingest asks the executor to store the blobs of packs already uploaded to
// its incoming/ directory (base names). Damaged packs fail the call (code
// api.CodeCorrupt); records whose content mismatches come back in
// Rejected.
func (c *Client) Ingest(ctx context.Context, packs []string) (api.IngestResponse, error) {
	var resp api.IngestResponse
	err := c.do(ctx, http.MethodPost, "/v1/packs/ingest", api.IngestRequest{Packs: packs}, &resp)
	return resp, err
}

// PutSnapshot stores a manifest (snapshot.Manifest encoding) under id. If
// blobs are missing the *APIError has Status 409 and lists them in Missing.
func (c *Client) PutSnapshot(ctx context.Context, id string, manifest []byte) (api.SnapshotResponse, error) {
	var resp api.SnapshotResponse
	err := c.do(ctx, http.MethodPut, "/v1/snapshots/"+url.PathEscape(id), manifest, &resp)
	return resp, err
}

// Snapshot fetches a stored manifest's bytes (ErrNotFound if absent).
func (c *Client) Snapshot(ctx context.Context, id string) ([]byte, error) {
	resp, err := c.send(ctx, http.MethodGet, "/v1/snapshots/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return readAll(resp)
}

// Blob streams a stored blob's content by id (ErrNotFound if absent). The
// caller closes it and checks the content against the id.
func (c *Client) Blob(ctx context.Context, id string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, "/v1/blobs/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
