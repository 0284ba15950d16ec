package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferry-ml/ferry/executor/api"
)

// CreateRun submits a run (its snapshot must already be stored).
func (c *Client) CreateRun(ctx context.Context, spec api.RunSpec) (api.Run, error) {
	var r api.Run
	err := c.do(ctx, http.MethodPost, "/v1/runs", spec, &r)
	return r, err
}

// GetRun returns a run's record (ErrNotFound if unknown).
func (c *Client) GetRun(ctx context.Context, id string) (api.Run, error) {
	var r api.Run
	err := c.do(ctx, http.MethodGet, "/v1/runs/"+url.PathEscape(id), nil, &r)
	return r, err
}

// ListRuns returns every run the executor knows.
func (c *Client) ListRuns(ctx context.Context) ([]api.Run, error) {
	var rs []api.Run
	err := c.do(ctx, http.MethodGet, "/v1/runs", nil, &rs)
	return rs, err
}

// CancelRun asks the executor to cancel a run and returns its record.
func (c *Client) CancelRun(ctx context.Context, id string) (api.Run, error) {
	var r api.Run
	err := c.do(ctx, http.MethodPost, "/v1/runs/"+url.PathEscape(id)+"/cancel", nil, &r)
	return r, err
}

// RemoveRun deletes the directory of a run that has ended from the target
// (ErrNotFound if unknown; a 409 APIError while the run goes on).
func (c *Client) RemoveRun(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/runs/"+url.PathEscape(id), nil, nil)
}

// Log streams a run's log from byte offset. With follow the stream stays
// open until the run has ended and every byte was sent. The caller closes
// the reader; closing it (or ending ctx) stops following.
func (c *Client) Log(ctx context.Context, id string, offset int64, follow bool) (io.ReadCloser, error) {
	return c.RankLog(ctx, id, 0, offset, follow)
}

// RankLog is Log for one rank (process) of a multi-process run; rank 0's
// log is the run's own.
func (c *Client) RankLog(ctx context.Context, id string, rank int, offset int64, follow bool) (io.ReadCloser, error) {
	q := url.Values{"offset": {fmt.Sprint(offset)}}
	if rank != 0 {
		q.Set("rank", fmt.Sprint(rank))
	}
	if follow {
		q.Set("follow", "1")
	}
	resp, err := c.send(ctx, http.MethodGet, "/v1/runs/"+url.PathEscape(id)+"/log?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Metrics streams the kept metrics of a run that has ended (JSON lines,
// one api.Metric each) from byte offset, a line boundary where an earlier
// read stopped; size is the whole file's, so offset+bytes read == size
// means everything arrived. The caller closes the reader. A run that has
// not ended answers 409 (an *APIError).
func (c *Client) Metrics(ctx context.Context, id string, offset int64) (body io.ReadCloser, size int64, err error) {
	q := url.Values{"offset": {fmt.Sprint(offset)}}
	resp, err := c.send(ctx, http.MethodGet, "/v1/runs/"+url.PathEscape(id)+"/metrics?"+q.Encode(), nil)
	if err != nil {
		return nil, 0, err
	}
	size, err = strconv.ParseInt(resp.Header.Get(api.MetricsSizeHeader), 10, 64)
	if err != nil {
		resp.Body.Close()
		return nil, 0, fmt.Errorf("metrics of run %s: bad %s header: %w", id, api.MetricsSizeHeader, err)
	}
	return resp.Body, size, nil
}

// Outputs lists the files under the run's outputs/ directory.
func (c *Client) Outputs(ctx context.Context, id string) ([]api.OutputFile, error) {
	var fs []api.OutputFile
	err := c.do(ctx, http.MethodGet, "/v1/runs/"+url.PathEscape(id)+"/outputs", nil, &fs)
	return fs, err
}

// File streams a file of the run directory; path is "/"-separated and
// relative to it (for example "outputs/model.pt"). The caller closes it.
func (c *Client) File(ctx context.Context, id, path string) (io.ReadCloser, error) {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	resp, err := c.send(ctx, http.MethodGet, "/v1/runs/"+url.PathEscape(id)+"/files/"+strings.Join(segs, "/"), nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func readAll(resp *http.Response) ([]byte, error) {
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s answer: %w", resp.Request.URL.Path, err)
	}
	return b, nil
}
