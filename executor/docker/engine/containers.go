package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// ContainerCreate creates a container from cfg, named name (empty: the
// engine picks one), and returns its id.
func (c *Client) ContainerCreate(ctx context.Context, cfg *ContainerConfig, name string) (string, error) {
	var q url.Values
	if name != "" {
		q = url.Values{"name": {name}}
	}
	var created struct {
		ID string `json:"Id"`
	}
	err := c.call(ctx, request{method: http.MethodPost, path: "/containers/create", query: q}, cfg, &created)
	if err == nil && created.ID == "" {
		err = errors.New("create container: the engine returned no id")
	}
	return created.ID, err
}

// ContainerAttach attaches to the stdout and stderr of the container id and
// returns the engine's multiplexed stream of them (see Demux), which ends
// when the container exits. Attach before starting, to miss nothing. The
// caller closes it.
func (c *Client) ContainerAttach(ctx context.Context, id string) (io.ReadCloser, error) {
	resp, err := c.do(ctx, request{method: http.MethodPost, path: "/containers/" + id + "/attach",
		query:  url.Values{"stream": {"1"}, "stdout": {"1"}, "stderr": {"1"}},
		header: http.Header{"Connection": {"Upgrade"}, "Upgrade": {"tcp"}}})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols && resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("attach container %s: the engine answered %s", id, resp.Status)
	}
	return resp.Body, nil
}

// ContainerStart starts the created container id.
func (c *Client) ContainerStart(ctx context.Context, id string) error {
	return c.call(ctx, request{method: http.MethodPost, path: "/containers/" + id + "/start"}, nil, nil)
}

// ContainerWait waits for the next exit of the container id. It returns
// once the engine has registered the wait (so a start after it cannot be
// missed); the exit, or the failure to wait, then arrives on one of the
// channels. Cancel ctx to stop waiting.
func (c *Client) ContainerWait(ctx context.Context, id string) (<-chan WaitResponse, <-chan error) {
	resC := make(chan WaitResponse, 1)
	errC := make(chan error, 1)
	resp, err := c.do(ctx, request{method: http.MethodPost, path: "/containers/" + id + "/wait",
		query: url.Values{"condition": {"next-exit"}}})
	if err != nil {
		errC <- err
		return resC, errC
	}
	go func() {
		defer resp.Body.Close()
		var r WaitResponse
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			errC <- fmt.Errorf("wait for container %s: %w", id, err)
			return
		}
		resC <- r
	}()
	return resC, errC
}

// ContainerStop sends signal (e.g. "SIGTERM"; engines before API 1.42 send
// the image's stop signal) to the container id and kills it after timeout
// seconds. Stopping a stopped container is not an error.
func (c *Client) ContainerStop(ctx context.Context, id, signal string, timeout int) error {
	q := url.Values{"t": {strconv.Itoa(timeout)}}
	v, err := c.APIVersion(ctx)
	if err != nil {
		return err
	}
	if signal != "" && !versionLess(v, "1.42") {
		q.Set("signal", signal)
	}
	return c.call(ctx, request{method: http.MethodPost, path: "/containers/" + id + "/stop", query: q}, nil, nil)
}

// ContainerRemove removes the container id, killing it first when force,
// with its anonymous volumes.
func (c *Client) ContainerRemove(ctx context.Context, id string, force bool) error {
	q := url.Values{"v": {"1"}}
	if force {
		q.Set("force", "1")
	}
	return c.call(ctx, request{method: http.MethodDelete, path: "/containers/" + id, query: q}, nil, nil)
}

// ContainerInspect reads the state of the container id.
func (c *Client) ContainerInspect(ctx context.Context, id string) (ContainerState, error) {
	var s ContainerState
	err := c.call(ctx, request{method: http.MethodGet, path: "/containers/" + id + "/json"}, nil, &s)
	return s, err
}
