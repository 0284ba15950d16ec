package agent

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path"
	"sync"

	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/internal/buildinfo"
	"github.com/ferry-ml/ferry/transport"
	"golang.org/x/crypto/ssh"
)

// sshEndpoint is a remote target over one SSH connection, reused for every
// exec, SFTP transfer and forwarded socket.
type sshEndpoint struct {
	c *transport.Client

	mu       sync.Mutex
	useProxy bool // socket forwarding refused: go through "ferry-executor proxy"
}

func dialSSH(ctx context.Context, t compute.Target, opts ConnectOptions) (*sshEndpoint, error) {
	c, err := transport.Dial(ctx, sshConfig(t, opts))
	if err != nil {
		return nil, err
	}
	return &sshEndpoint{c: c}, nil
}

// sshConfig says how to reach t.
func sshConfig(t compute.Target, opts ConnectOptions) transport.Config {
	cfg := transport.Config{
		Host:             t.Address,
		Port:             t.Port,
		User:             t.User,
		KeyFile:          t.PrivateKey,
		Password:         t.Password,
		Passphrase:       opts.Passphrase,
		AcceptNewHostKey: opts.AcceptNewHostKey,
		UseAgent:         true,
		Logger:           opts.Logger,

		AcceptHostKeyFingerprint: opts.AcceptHostKeyFingerprint,
	}
	if t.KnownHosts != "" {
		cfg.KnownHostsFiles = []string{t.KnownHosts}
	}
	if f := os.Getenv("FERRY_SSH_CONFIG"); f != "" {
		cfg.SSHConfigFile = f
	}
	return cfg
}

func (e *sshEndpoint) Script(ctx context.Context, script string, args ...string) (scriptResult, error) {
	res, err := e.c.Exec(ctx, append([]string{"sh", "-c", script, "sh"}, args...), nil)
	if err != nil {
		return scriptResult{}, err
	}
	return scriptResult{Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: res.ExitCode}, nil
}

// DialUnix forwards a connection to the socket; when the server forbids
// socket forwarding (AllowStreamLocalForwarding no) it falls back, for
// this and every later call, to an exec'd "ferry-executor proxy" whose
// stdio is the connection.
func (e *sshEndpoint) DialUnix(ctx context.Context, sock string) (net.Conn, error) {
	e.mu.Lock()
	useProxy := e.useProxy
	e.mu.Unlock()
	if !useProxy {
		conn, err := e.c.DialUnix(ctx, sock)
		if err == nil || !isForwardingRefused(err) {
			return conn, err
		}
		e.mu.Lock()
		e.useProxy = true
		e.mu.Unlock()
	}
	return e.c.StartConn(ctx, []string{"sh", "-c", `exec "$1/executor/$2/ferry-executor" proxy --state-dir "$1"`,
		"sh", path.Dir(sock), buildinfo.String()})
}

// isForwardingRefused reports whether sshd refused a streamlocal channel.
func isForwardingRefused(err error) bool {
	var oce *ssh.OpenChannelError
	return errors.Is(err, transport.ErrForwardingRefused) || (errors.As(err, &oce) && oce.Reason == ssh.Prohibited)
}

func (e *sshEndpoint) Close() error { return e.c.Close() }

func (e *sshEndpoint) lostC() <-chan struct{} { return e.c.Done() }

// Lost reports whether the SSH connection has ended.
func (e *sshEndpoint) Lost() bool {
	select {
	case <-e.c.Done():
		return true
	default:
		return false
	}
}

func (e *sshEndpoint) Start(ctx context.Context, script string, args ...string) (startedScript, error) {
	cmd, err := e.c.Start(ctx, append([]string{"sh", "-c", script, "sh"}, args...))
	if err != nil {
		return nil, err
	}
	return sshScript{cmd}, nil
}

// sshScript is a script started over the endpoint's own connection.
type sshScript struct{ cmd *transport.Command }

func (s sshScript) Write(p []byte) (int, error) { return s.cmd.Stdin.Write(p) }
func (s sshScript) CloseStdin() error           { return s.cmd.Stdin.Close() }
func (s sshScript) Stdout() io.Reader           { return s.cmd.Stdout }
func (s sshScript) Close() error                { return s.cmd.Close() }

func (s sshScript) Wait() (scriptResult, error) {
	res, err := s.cmd.Wait()
	return scriptResult{Stderr: res.Stderr, ExitCode: res.ExitCode}, err
}
