package portal

import (
	"context"
	"io"
	"path/filepath"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/snapshot"
	"github.com/hashicorp/go-hclog"
)

// Connector opens connections to compute targets. agent's implementation
// is AgentConnector; tests use fakes.
type Connector interface {
	// Dial opens a connection without touching the executor, for a check
	// or an attach. A non-empty fingerprint records the host key when it
	// is unknown and has exactly that fingerprint.
	Dial(ctx context.Context, t compute.Target, fingerprint string) (Prober, error)
	// Connect opens a connection with the target's executor ready.
	Connect(ctx context.Context, t compute.Target) (Conn, error)
}

// Prober reports what a target has (*agent.Conn implements it).
type Prober interface {
	Probe(ctx context.Context) (*agent.Facts, error)
	Close() error
}

// Conn is what the portal asks of a connection to a target's executor:
// the lifecycle's agent.Remote (so that agent.Runner records, keeps logs
// and collects outputs as it does for the CLI), plus reading a log as it
// is and a snapshot's file list. *agent.Conn implements it; it is used by
// one goroutine at a time.
type Conn interface {
	agent.Remote
	// ReadLog copies the run's log from offset to w, without following.
	ReadLog(ctx context.Context, id string, offset int64, w io.Writer) error
	// Manifest returns a snapshot's file list.
	Manifest(ctx context.Context, id string) (*snapshot.Manifest, error)
}

var (
	_ Conn   = (*agent.Conn)(nil)
	_ Prober = (*agent.Conn)(nil)
)

// AgentConnector connects through package agent, as the CLI does.
type AgentConnector struct {
	Home   string // $FERRY_HOME
	Logger hclog.Logger
}

var _ Connector = AgentConnector{}

// Dial implements Connector.
func (a AgentConnector) Dial(ctx context.Context, t compute.Target, fingerprint string) (Prober, error) {
	opts := a.options()
	opts.AcceptHostKeyFingerprint = fingerprint
	c, err := agent.Dial(ctx, t, opts)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Connect implements Connector.
func (a AgentConnector) Connect(ctx context.Context, t compute.Target) (Conn, error) {
	c, err := agent.Connect(ctx, t, a.options())
	if err != nil {
		return nil, err
	}
	return c, nil
}

// options never prompt for a key passphrase: there is no terminal to ask
// on. A key that needs one must be in the ssh agent.
func (a AgentConnector) options() agent.ConnectOptions {
	return agent.ConnectOptions{Home: a.Home, Logger: a.Logger}
}

// outputsDir is the local content store of run outputs under home.
func outputsDir(home string) string { return filepath.Join(home, "blobs") }
