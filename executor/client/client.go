package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-ml/ferry/executor/api"
)

// baseURL is a placeholder host: every connection comes from the dialer.
const baseURL = "http://ferry-executor"

// ErrNotFound is wrapped by the APIError of every 404 answer (unknown run,
// snapshot or file): errors.Is(err, client.ErrNotFound).
var ErrNotFound = errors.New("not found")

// ErrConnectionLost is wrapped by the error of a request whose connection
// to the executor failed or broke (a cut or dead link), as opposed to an
// answer of the executor.
var ErrConnectionLost = errors.New("connection to the executor lost")

// APIError is a non-2xx answer of the executor.
// Code and Message come from the api.Error body (an api.Error cannot be
// embedded: its field would clash with the Error method).
type APIError struct {
	Status  int
	Code    string // api.Error.Code, or "http_<status text>" without a JSON body
	Message string
	// Missing lists the blobs a refused snapshot PUT lacks (409).
	Missing []string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("executor: %s (%d %s)", e.Message, e.Status, e.Code)
}

// Unwrap makes a 404 match ErrNotFound.
func (e *APIError) Unwrap() error {
	if e.Status == http.StatusNotFound {
		return ErrNotFound
	}
	return nil
}

// Client calls the executor API. It is safe for concurrent use; concurrent
// requests (a followed log beside status calls) each get a connection.
type Client struct {
	hc   *http.Client
	log  hclog.Logger
	gate atomic.Pointer[Gate] // gate.go; nil: none
}

// New returns a client whose connections come from dial. A nil logger
// discards diagnostics.
func New(dial func(ctx context.Context) (net.Conn, error), logger hclog.Logger) *Client {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dial(ctx)
		},
		MaxIdleConns:          4,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       5 * time.Minute,
		DisableCompression:    true,
		ResponseHeaderTimeout: 0, // ingest of large packs takes as long as it takes
	}
	return &Client{hc: &http.Client{Transport: tr}, log: logger}
}

// Close drops idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// do sends a request with an optional JSON (or raw []byte) body and decodes
// a JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s answer: %w", method, path, err)
	}
	return nil
}

// send returns a 2xx response, whose body the caller closes, or an error.
func (c *Client) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var payload []byte // sent again if the gate asks (gate.go)
	ctype := ""
	switch v := in.(type) {
	case nil:
	case []byte:
		payload, ctype = v, "application/octet-stream"
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		payload, ctype = b, "application/json"
	}
	resp, err := c.gated(ctx, method, path, func() (*http.Response, error) {
		return c.send1(ctx, method, path, payload, ctype)
	})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return resp, nil
}

// send1 sends one request; a non-2xx answer is returned as it is.
func (c *Client) send1(ctx context.Context, method, path string, payload []byte, ctype string) (*http.Response, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, baseURL+path, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, requestError(err))
	}
	c.log.Trace("executor request", "method", method, "path", path, "status", resp.StatusCode, "elapsed", time.Since(start))
	return resp, nil
}

func decodeError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	e := &APIError{Status: resp.StatusCode}
	var body api.MissingBlobs
	if json.Unmarshal(b, &body) == nil && body.Code != "" {
		e.Code, e.Message, e.Missing = body.Code, body.Message, body.Missing
		return e
	}
	e.Code = "http_" + strings.ReplaceAll(strings.ToLower(http.StatusText(resp.StatusCode)), " ", "_")
	e.Message = strings.TrimSpace(string(b))
	if e.Message == "" {
		e.Message = resp.Status
	}
	return e
}

// requestError drops the *url.Error wrapping of an http.Client error (its
// placeholder URL means nothing to a user) and marks a broken connection
// with ErrConnectionLost; cancellation stays as it is.
func requestError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w (%w)", ErrConnectionLost, err)
}
