package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ferry-ml/ferry/executor/api"
)

// ListEnvs returns the target's cached environments, least recently used
// first.
func (c *Client) ListEnvs(ctx context.Context) ([]api.EnvInfo, error) {
	var out []api.EnvInfo
	err := c.do(ctx, http.MethodGet, "/v1/envs", nil, &out)
	return out, err
}

// RemoveEnv deletes a cached environment (ErrNotFound if unknown; a 409
// APIError while it is being built or a container uses its image).
func (c *Client) RemoveEnv(ctx context.Context, key string) (api.EnvInfo, error) {
	var out api.EnvInfo
	err := c.do(ctx, http.MethodDelete, "/v1/envs/"+url.PathEscape(key), nil, &out)
	return out, err
}

// PruneEnvs removes the least recently used environments beyond req.
func (c *Client) PruneEnvs(ctx context.Context, req api.PruneRequest) (api.PruneResponse, error) {
	var out api.PruneResponse
	err := c.do(ctx, http.MethodPost, "/v1/envs/prune", req, &out)
	return out, err
}
