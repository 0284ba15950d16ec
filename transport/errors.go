package transport

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrPassphraseRequired is returned (wrapped) by Dial when the key file is
// encrypted, the agent does not hold it, and Config.Passphrase is nil. The
// package never prompts: the CLI should read the passphrase from a terminal
// or from --passphrase-stdin and set Config.Passphrase.
var ErrPassphraseRequired = errors.New("private key is encrypted: give its passphrase with --passphrase-stdin or run from a terminal")

// ErrConnLost is returned (wrapped) by calls that were blocked on a
// connection that the keepalive found dead (no reply in time) and closed.
// It is retryable: a new Dial may succeed.
var ErrConnLost = errors.New("ssh connection lost: keepalive timed out")

// ErrForwardingRefused is returned (wrapped) by DialUnix when the socket
// exists but the server would not forward a connection to it: typically
// AllowStreamLocalForwarding no, or nothing listening on the socket. Fall
// back to StartConn.
var ErrForwardingRefused = errors.New("unix socket forwarding refused by the server")

// HostKeyUnknownError is returned by Dial when known_hosts holds no key for
// the host and Config.AcceptNewHostKey is false.
type HostKeyUnknownError struct {
	Host        string // as written in known_hosts: "host" or "[host]:port"
	KeyType     string // for example "ssh-ed25519"
	Fingerprint string // "SHA256:...", as ssh-keygen -l prints it
}

func (e *HostKeyUnknownError) Error() string {
	return fmt.Sprintf("host key for %s is unknown (%s %s): verify the fingerprint, then accept it", e.Host, e.KeyType, e.Fingerprint)
}

// HostKeyChangedError is returned by Dial when the server presents a key
// that differs from the one recorded in known_hosts. It is never overridden
// by Config.AcceptNewHostKey: it can mean a man-in-the-middle attack.
type HostKeyChangedError struct {
	Host           string // as written in known_hosts
	KeyType        string // type of the key the server presented
	Fingerprint    string // fingerprint of the key the server presented
	KnownHostsFile string // file holding the recorded key
	Line           int    // line of the recorded key in KnownHostsFile
}

func (e *HostKeyChangedError) Error() string {
	return fmt.Sprintf("REMOTE HOST IDENTIFICATION HAS CHANGED for %s: server presented %s %s, which does not match the key recorded at %s:%d (possible man-in-the-middle attack; if the host was reinstalled, remove that line)",
		e.Host, e.KeyType, e.Fingerprint, e.KnownHostsFile, e.Line)
}

// AuthError is returned by Dial when the server rejected every credential
// offered.
type AuthError struct {
	User    string
	Host    string
	Methods []string // methods the server allows, e.g. publickey, password
	Offered []string // what was tried, e.g. "key /home/u/.ssh/id_ed25519"
	Err     error    // the underlying ssh error
}

func (e *AuthError) Error() string {
	msg := fmt.Sprintf("%s@%s: permission denied (%s)", e.User, e.Host, strings.Join(e.Methods, ","))
	if len(e.Offered) > 0 {
		msg += "; offered: " + strings.Join(e.Offered, ", ")
	} else {
		msg += "; no credentials to offer (set a key file, the agent or a password)"
	}
	if e.Err != nil {
		msg += ": " + strings.TrimPrefix(e.Err.Error(), "ssh: handshake failed: ")
	}
	return msg
}

func (e *AuthError) Unwrap() error { return e.Err }

// permanentError marks errors that a retry cannot fix (bad configuration,
// unreadable or undecryptable keys, revoked host keys).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err is one a retry cannot fix: host key
// problems, authentication failures, configuration and key file errors, and
// cancellation by the caller. Dial timeouts, connection resets and keepalive
// failures are not permanent.
func IsPermanent(err error) bool {
	var (
		unknown *HostKeyUnknownError
		changed *HostKeyChangedError
		auth    *AuthError
		perm    *permanentError
	)
	switch {
	case err == nil:
		return false
	case errors.As(err, &unknown), errors.As(err, &changed), errors.As(err, &auth), errors.As(err, &perm):
		return true
	case errors.Is(err, ErrPassphraseRequired), errors.Is(err, context.Canceled):
		return true
	}
	return false
}

// errConnectTimeout is the cause of a dial that ran past ConnectTimeout. It
// is retryable, unlike a deadline of the caller's own context.
var errConnectTimeout = errors.New("connect timeout")
