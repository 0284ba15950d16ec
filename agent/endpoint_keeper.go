package agent

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"

	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/transport"
	"github.com/ferry-ml/ferry/transport/keeper"
)

// keeperEndpoint is a remote target reached through the per-user keeper's
// SSH connection: no handshake in this process. A target whose sshd
// forbids socket forwarding is reached, for DialUnix, over a connection of
// this process's own (which falls back to "ferry-executor proxy").
type keeperEndpoint struct {
	k      *keeper.Client
	t      keeper.Target
	target compute.Target
	opts   ConnectOptions

	watch net.Conn
	lost  chan struct{} // closed when the keeper's connection ends

	mu     sync.Mutex
	direct *sshEndpoint // only once forwarding was refused
}

// openKeeper returns an endpoint through the keeper, or nil when the
// command should dial itself: no keeper, a host key that may be accepted
// now (only the command can), or a keeper that could not connect (the
// command's own dial then reports why, as without a keeper).
func openKeeper(ctx context.Context, t compute.Target, opts ConnectOptions) endpoint {
	if opts.Keeper == nil || opts.AcceptNewHostKey || opts.AcceptHostKeyFingerprint != "" {
		return nil
	}
	kt := keeper.TargetOf(sshConfig(t, opts))
	w, err := opts.Keeper.Watch(ctx, kt)
	if err != nil {
		opts.Logger.Debug("dialling without the keeper", "compute", t.Name, "error", err)
		return nil
	}
	e := &keeperEndpoint{k: opts.Keeper, t: kt, target: t, opts: opts, watch: w, lost: make(chan struct{})}
	go func() {
		io.Copy(io.Discard, w)
		close(e.lost)
	}()
	return e
}

func (e *keeperEndpoint) Script(ctx context.Context, script string, args ...string) (scriptResult, error) {
	res, err := e.k.Exec(ctx, e.t, append([]string{"sh", "-c", script, "sh"}, args...), nil)
	if err != nil {
		return scriptResult{}, err
	}
	return scriptResult{Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: res.ExitCode}, nil
}

func (e *keeperEndpoint) Start(ctx context.Context, script string, args ...string) (startedScript, error) {
	cmd, err := e.k.StartCommand(ctx, e.t, append([]string{"sh", "-c", script, "sh"}, args...))
	if err != nil {
		return nil, err
	}
	return keeperScript{cmd}, nil
}

// keeperScript is a script started through the keeper.
type keeperScript struct{ *keeper.Command }

func (s keeperScript) Wait() (scriptResult, error) {
	res, err := s.Command.Wait()
	return scriptResult{Stderr: res.Stderr, ExitCode: res.ExitCode}, err
}

// DialUnix forwards a connection to the socket through the keeper.
func (e *keeperEndpoint) DialUnix(ctx context.Context, sock string) (net.Conn, error) {
	if d := e.directEndpoint(); d != nil {
		return d.DialUnix(ctx, sock)
	}
	conn, err := e.k.DialUnix(ctx, e.t, sock)
	if err == nil || !errors.Is(err, transport.ErrForwardingRefused) {
		return conn, err
	}
	d, derr := dialSSH(ctx, e.target, e.opts)
	if derr != nil {
		return nil, derr
	}
	e.mu.Lock()
	if e.direct == nil {
		e.direct = d
	} else {
		d.Close()
	}
	d = e.direct
	e.mu.Unlock()
	return d.DialUnix(ctx, sock)
}

func (e *keeperEndpoint) directEndpoint() *sshEndpoint {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.direct
}

func (e *keeperEndpoint) lostC() <-chan struct{} { return e.lost }

// Lost reports whether the keeper's connection to the target (or the
// keeper itself) has ended.
func (e *keeperEndpoint) Lost() bool {
	select {
	case <-e.lost:
		return true
	default:
		return false
	}
}

func (e *keeperEndpoint) Close() error {
	err := e.watch.Close()
	if d := e.directEndpoint(); d != nil {
		err = errors.Join(err, d.Close())
	}
	return err
}
