package docker

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/ferry-ml/ferry/executor/docker/engine"
	"github.com/hashicorp/go-hclog"
)

// Client builds images and runs containers on one Docker engine. It is safe
// for concurrent use.
type Client struct {
	api   *engine.Client
	log   hclog.Logger
	locks *keyLocks
}

// UnavailableError says the Docker engine could not be reached. Hint is a
// sentence the CLI may show (for example, to join the docker group).
type UnavailableError struct {
	Host string
	Hint string
	Err  error
}

// Error implements error.
func (e *UnavailableError) Error() string {
	return fmt.Sprintf("docker engine at %s not reachable: %v", e.Host, e.Err)
}

// Unwrap returns the connection's error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// New connects to the engine named by the environment (DOCKER_HOST,
// DOCKER_API_VERSION, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY; default the local
// unix socket) with API version negotiation. It makes no request: call Ping
// to check the engine. A nil logger logs nothing. Close releases it.
func New(logger hclog.Logger) (*Client, error) {
	api, err := engine.New(engine.FromEnv())
	if err != nil {
		return nil, fmt.Errorf("create docker client: %w", err)
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Client{api: api, log: logger, locks: newKeyLocks()}, nil
}

// Close releases the client's connections.
func (c *Client) Close() error { return c.api.Close() }

// Ping asks the engine for its version ("20.10.24+dfsg1"). When the engine
// cannot be reached the error is an *UnavailableError, with a Hint when the
// socket refused this user.
func (c *Client) Ping(ctx context.Context) (string, error) {
	v, err := c.api.Version(ctx)
	if err != nil {
		return "", c.unavailable(err)
	}
	return v, nil
}

// unavailable classifies an engine error: connection failures become an
// *UnavailableError, anything else is returned wrapped.
func (c *Client) unavailable(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("ping docker engine: %w", err)
	}
	if errors.Is(err, os.ErrPermission) {
		return &UnavailableError{Host: c.api.Host(), Err: err,
			Hint: "this user may not use the Docker socket: add it to the docker group (sudo usermod -aG docker $USER) and log in again"}
	}
	if engine.IsConnectError(err) {
		return &UnavailableError{Host: c.api.Host(), Err: err,
			Hint: "is the Docker engine installed and running (systemctl start docker)?"}
	}
	return fmt.Errorf("ping docker engine: %w", err)
}
