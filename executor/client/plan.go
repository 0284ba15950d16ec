package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/ferry-ml/ferry/executor/api"
)

// Plan asks what a sync must send (one round trip; see api.PlanRequest).
func (c *Client) Plan(ctx context.Context, req api.PlanRequest) (api.PlanResponse, error) {
	var resp api.PlanResponse
	err := c.do(ctx, http.MethodPost, "/v1/sync/plan", req, &resp)
	return resp, err
}

// UploadPack streams a pack to the executor, which verifies and stores its
// blobs as they arrive, then builds the files of the named recipes (see
// api.Recipe).
//
// With opts.Snapshot set it then stores that snapshot too (see
// api.PackUpload).
func (c *Client) UploadPack(ctx context.Context, pack io.Reader, opts api.PackUpload) (api.IngestResponse, error) {
	var out api.IngestResponse
	if err := c.waitGate(ctx); err != nil {
		return out, err
	}
	q := url.Values{}
	if len(opts.Assemble) > 0 {
		q["assemble"] = opts.Assemble
	}
	if opts.Snapshot != "" {
		q.Set("snapshot", opts.Snapshot)
		q.Set("manifest", opts.Manifest)
	}
	if opts.Base != "" {
		q.Set("base", opts.Base)
	}
	u := baseURL + "/v1/packs"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, io.NopCloser(pack))
	if err != nil {
		return out, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.hc.Do(req)
	if err != nil {
		return out, fmt.Errorf("upload pack: %w", requestError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return out, decodeError(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return out, fmt.Errorf("decode pack upload answer: %w", err)
	}
	return out, nil
}

// PutSnapshotDelta stores snapshot id given as a snapshot.Delta against
// base (a snapshot the executor holds).
func (c *Client) PutSnapshotDelta(ctx context.Context, id, base string, delta []byte) (api.SnapshotResponse, error) {
	var resp api.SnapshotResponse
	err := c.do(ctx, http.MethodPut, "/v1/snapshots/"+url.PathEscape(id)+"?base="+url.QueryEscape(base), delta, &resp)
	return resp, err
}
