package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/hashicorp/go-hclog"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// imageAPI is the part of the Docker SDK that images need.
type imageAPI interface {
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImagePull(ctx context.Context, ref string, opts image.PullOptions) (io.ReadCloser, error)
	ImageBuild(ctx context.Context, buildContext io.Reader, opts build.ImageBuildOptions) (build.ImageBuildResponse, error)
	ImageList(ctx context.Context, opts image.ListOptions) ([]image.Summary, error)
	ImageRemove(ctx context.Context, ref string, opts image.RemoveOptions) ([]image.DeleteResponse, error)
}

// containerAPI is the part of the Docker SDK that runs need.
type containerAPI interface {
	ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error)
	ContainerAttach(ctx context.Context, id string, opts container.AttachOptions) (types.HijackedResponse, error)
	ContainerStart(ctx context.Context, id string, opts container.StartOptions) error
	ContainerWait(ctx context.Context, id string, cond container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerStop(ctx context.Context, id string, opts container.StopOptions) error
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
}

// engine is everything Client asks of the Docker SDK; *client.Client
// implements it and unit tests use a fake.
type engine interface {
	imageAPI
	containerAPI
	ServerVersion(ctx context.Context) (types.Version, error)
	DaemonHost() string
}

var _ engine = (*client.Client)(nil)

// Client builds images and runs containers on one Docker engine. It is safe
// for concurrent use.
type Client struct {
	api    engine
	closer io.Closer // nil for fakes
	log    hclog.Logger
	locks  *keyLocks
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

// Unwrap returns the SDK's error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// New connects to the engine named by the environment (DOCKER_HOST,
// DOCKER_API_VERSION, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY; default the local
// unix socket) with API version negotiation. It makes no request: call Ping
// to check the engine. A nil logger logs nothing. Close releases it.
func New(logger hclog.Logger) (*Client, error) {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("create docker client: %w", err)
	}
	dc := newClient(c, logger)
	dc.closer = c
	return dc, nil
}

// newClient wraps api (the SDK or a fake).
func newClient(api engine, logger hclog.Logger) *Client {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Client{api: api, log: logger, locks: newKeyLocks()}
}

// Close releases the client's connections.
func (c *Client) Close() error {
	if c.closer == nil {
		return nil
	}
	return c.closer.Close()
}

// Ping asks the engine for its version ("20.10.24+dfsg1"). When the engine
// cannot be reached the error is an *UnavailableError, with a Hint when the
// socket refused this user.
func (c *Client) Ping(ctx context.Context) (string, error) {
	v, err := c.api.ServerVersion(ctx)
	if err != nil {
		return "", c.unavailable(err)
	}
	return v.Version, nil
}

// unavailable classifies an SDK error: connection failures become an
// *UnavailableError, anything else is returned wrapped.
func (c *Client) unavailable(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("ping docker engine: %w", err)
	}
	if errors.Is(err, os.ErrPermission) {
		return &UnavailableError{Host: c.api.DaemonHost(), Err: err,
			Hint: "this user may not use the Docker socket: add it to the docker group (sudo usermod -aG docker $USER) and log in again"}
	}
	if client.IsErrConnectionFailed(err) {
		return &UnavailableError{Host: c.api.DaemonHost(), Err: err,
			Hint: "is the Docker engine installed and running (systemctl start docker)?"}
	}
	return fmt.Errorf("ping docker engine: %w", err)
}
