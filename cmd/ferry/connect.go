package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/transport"
	"golang.org/x/term"
)

// connectOptions builds agent.ConnectOptions from the global options.
func (g *globalOptions) connectOptions(pass func() ([]byte, error), acceptNew bool) agent.ConnectOptions {
	return agent.ConnectOptions{
		Home:             g.Home,
		Passphrase:       pass,
		AcceptNewHostKey: acceptNew,
		Keeper:           g.keeperClient(),
		Logger:           g.logger,
		Notice:           func(msg string) { fmt.Fprintf(os.Stderr, "ferry: %s\n", msg) },

		ExecutorIdleTimeout: g.ExecutorIdleTimeout,
	}
}

// connect opens a connection to the named target with its executor ready.
func (g *globalOptions) connect(ctx context.Context, name string) (*agent.Conn, error) {
	t, err := getTarget(g, name)
	if err != nil {
		return nil, err
	}
	conn, err := agent.Connect(ctx, t, g.connectOptions(passphraseSource(false, nil), false))
	if err != nil {
		return nil, connectError(t, err)
	}
	return conn, nil
}

// dialing is a connection being opened in the background while the
// caller does local work (the snapshot); wait returns it, close releases
// it (whether or not wait was called).
type dialing struct {
	t    compute.Target
	ch   chan dialResult
	got  bool
	conn *agent.Conn
	// ready: the executor was readied in the background too (connectAsync).
	ready  bool
	cancel context.CancelFunc
}

type dialResult struct {
	conn *agent.Conn
	err  error
}

// dialAsync starts the SSH handshake with the named target (nothing for
// the local one) without touching its executor.
func (g *globalOptions) dialAsync(ctx context.Context, name string) (*dialing, error) {
	t, err := getTarget(g, name)
	if err != nil {
		return nil, err
	}
	d := &dialing{t: t, ch: make(chan dialResult, 1)}
	go func() {
		conn, err := agent.Dial(ctx, t, g.connectOptions(passphraseSource(false, nil), false))
		d.ch <- dialResult{conn, err}
	}()
	return d, nil
}

// connectAsync opens a connection to the named target and readies its
// executor (installing it on first contact) in the background, so that
// both overlap the caller's snapshot.
func (g *globalOptions) connectAsync(ctx context.Context, name string) (*dialing, error) {
	t, err := getTarget(g, name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	d := &dialing{t: t, ch: make(chan dialResult, 1), ready: true, cancel: cancel}
	go func() {
		conn, err := agent.Connect(ctx, t, g.connectOptions(passphraseSource(false, nil), false))
		d.ch <- dialResult{conn, err}
	}()
	return d, nil
}

// receive takes the handshake's result, once.
func (d *dialing) receive() dialResult {
	if d.got {
		return dialResult{conn: d.conn}
	}
	r := <-d.ch
	d.got, d.conn = true, r.conn
	return r
}

// wait returns the connection with its executor ready.
func (d *dialing) wait(ctx context.Context) (agent.Remote, error) {
	r := d.receive()
	if r.err != nil {
		return nil, connectError(d.t, r.err)
	}
	if d.ready {
		return r.conn, nil
	}
	if err := r.conn.EnsureExecutor(ctx); err != nil {
		return nil, connectError(d.t, err)
	}
	return r.conn, nil
}

// close closes the connection once the handshake ends.
func (d *dialing) close() {
	if d.cancel != nil {
		d.cancel()
	}
	if r := d.receive(); r.conn != nil {
		r.conn.Close()
	}
}

// passphraseSource returns how to get a key passphrase: from stdin when
// asked, else by a prompt on the terminal, else not at all (never a
// prompt when nobody can answer it).
func passphraseSource(fromStdin bool, stdin io.Reader) func() ([]byte, error) {
	if fromStdin {
		return func() ([]byte, error) {
			s, err := readSecretLine(stdin)
			return []byte(s), err
		}
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil
	}
	if !term.IsTerminal(int(tty.Fd())) {
		tty.Close()
		return nil
	}
	return func() ([]byte, error) {
		defer tty.Close()
		fmt.Fprint(tty, "Passphrase for the private key: ")
		b, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
		return b, err
	}
}

// connectError turns transport errors into messages that say what to do.
func connectError(t compute.Target, err error) error {
	var unknown *transport.HostKeyUnknownError
	var changed *transport.HostKeyChangedError
	var auth *transport.AuthError
	switch {
	case errors.As(err, &unknown):
		return &UserError{
			Msg:  fmt.Sprintf("the host key of %s is not known: %s key fingerprint is %s", unknown.Host, unknown.KeyType, unknown.Fingerprint),
			Hint: fmt.Sprintf("check the fingerprint with the machine's owner (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on it), then attach with --accept-new-host-key, or connect once with '%s' to record it", sshCommand(t, unknown.Host))}
	case errors.As(err, &changed):
		return &UserError{
			Msg:  fmt.Sprintf("WARNING: THE HOST KEY OF %s HAS CHANGED (%s %s); this could be an attack (someone intercepting the connection) or a reinstalled machine", changed.Host, changed.KeyType, changed.Fingerprint),
			Hint: fmt.Sprintf("if you know why it changed, remove the old key from %s line %d (ssh-keygen -R %s) and try again", changed.KnownHostsFile, changed.Line, changed.Host)}
	case errors.As(err, &auth):
		return &UserError{Msg: fmt.Sprintf("compute target %s: %v", t.Name, err),
			Hint: "check --username and --private-key (or the password); 'ferry compute show " + t.Name + "' shows what is configured"}
	}
	if errors.Is(err, agent.ErrNoExecutorBinary) {
		return &UserError{Msg: err.Error(), Hint: "build with 'make build' and run bin/ferry, or set FERRY_EXECUTOR_DIR"}
	}
	return fmt.Errorf("connect to %s: %w", t.Name, err)
}

// sshCommand is the OpenSSH command line that reaches t, for hints.
func sshCommand(t compute.Target, host string) string {
	cmd := "ssh"
	if t.Port != 0 && t.Port != 22 {
		cmd += fmt.Sprintf(" -p %d", t.Port)
	}
	if t.KnownHosts != "" {
		cmd += " -o UserKnownHostsFile=" + t.KnownHosts
	}
	return cmd + " " + orDefault(t.Address, host)
}
