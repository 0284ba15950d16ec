package transport

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// preferredHostKeyAlgos is OpenSSH's order for hosts with no recorded key.
var preferredHostKeyAlgos = []string{
	ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
}

// hostKeyChecker verifies one host's key against known_hosts files and,
// with acceptNew, records an unknown one.
type hostKeyChecker struct {
	hostPort  string   // host:port as dialled (the HostName, not the IP)
	files     []string // user files; the first receives new keys
	acceptNew bool
	log       hclog.Logger
	check     ssh.HostKeyCallback

	mu  sync.Mutex
	key ssh.PublicKey // the verified key
	err error         // why verification failed, if it did
}

func newHostKeyChecker(t *target, acceptNew bool, log hclog.Logger) (*hostKeyChecker, error) {
	var existing []string
	for _, f := range append(slices.Clone(t.knownHosts), t.globalKnown...) {
		_, err := os.Stat(f)
		switch {
		case err == nil:
			existing = append(existing, f)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, permanent(fmt.Errorf("read known hosts %s: %w", f, err))
		}
	}
	check, err := knownhosts.New(existing...)
	if err != nil {
		return nil, permanent(fmt.Errorf("read known hosts: %w", err))
	}
	return &hostKeyChecker{hostPort: t.hostPort(), files: t.knownHosts, acceptNew: acceptNew, log: log, check: check}, nil
}

// knownKeys returns every key recorded for the host, in file order. It asks
// the database about a throwaway key, which matches nothing, so the error
// lists all keys recorded for the host.
func (h *hostKeyChecker) knownKeys() []knownhosts.KnownKey {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil
	}
	var keyErr *knownhosts.KeyError
	if errors.As(h.check(h.hostPort, placeholderAddr(), probe), &keyErr) {
		return keyErr.Want
	}
	return nil
}

// algorithms returns the host key algorithms to offer: those of the keys
// recorded for the host first, then OpenSSH's default order. x/crypto's own
// order puts ECDSA first, so a server whose recorded key is Ed25519 would
// present ECDSA and fail with a false mismatch. Offering the rest after the
// recorded ones (as OpenSSH does) turns a server that lost its recorded key
// type into a HostKeyChangedError with a fingerprint rather than an opaque
// negotiation failure.
func (h *hostKeyChecker) algorithms() []string {
	var algos []string
	for _, k := range h.knownKeys() {
		algos = appendNew(algos, algosForKeyType(k.Key.Type())...)
	}
	algos = appendNew(algos, preferredHostKeyAlgos...)
	return appendNew(algos, ssh.SupportedAlgorithms().HostKeys...)
}

func algosForKeyType(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

func appendNew(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

// callback is the ssh.HostKeyCallback for the handshake. x/crypto passes
// the address given to NewClientConn, which is h.hostPort.
func (h *hostKeyChecker) callback(_ string, _ net.Addr, key ssh.PublicKey) error {
	err := h.verify(key)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.err = err
		return err
	}
	h.key = key
	return nil
}

func (h *hostKeyChecker) verify(key ssh.PublicKey) error {
	err := h.check(h.hostPort, placeholderAddr(), key)
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &keyErr) && len(keyErr.Want) == 0:
		return h.unknown(key)
	case errors.As(err, &keyErr):
		return h.changed(key, keyErr.Want)
	case errors.As(err, &revoked):
		return permanent(fmt.Errorf("host key for %s is revoked (%s:%d)", h.hostPort, revoked.Revoked.Filename, revoked.Revoked.Line))
	}
	return permanent(fmt.Errorf("verify host key: %w", err))
}

func (h *hostKeyChecker) unknown(key ssh.PublicKey) error {
	host := knownhosts.Normalize(h.hostPort)
	fp := ssh.FingerprintSHA256(key)
	if !h.acceptNew || len(h.files) == 0 {
		return &HostKeyUnknownError{Host: host, KeyType: key.Type(), Fingerprint: fp}
	}
	if err := appendKnownHost(h.files[0], knownhosts.Line([]string{host}, key)); err != nil {
		return permanent(fmt.Errorf("record host key: %w", err))
	}
	h.log.Info("recorded new host key", "host", host, "key_type", key.Type(), "fingerprint", fp, "file", h.files[0])
	return nil
}

func (h *hostKeyChecker) changed(key ssh.PublicKey, want []knownhosts.KnownKey) error {
	rec := want[0]
	for _, w := range want {
		if w.Key.Type() == key.Type() {
			rec = w
			break
		}
	}
	return &HostKeyChangedError{
		Host: knownhosts.Normalize(h.hostPort), KeyType: key.Type(), Fingerprint: ssh.FingerprintSHA256(key),
		KnownHostsFile: rec.Filename, Line: rec.Line,
	}
}

// result returns the verified key, or the error that refused the host.
func (h *hostKeyChecker) result() (ssh.PublicKey, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.key, h.err
}

// appendKnownHost adds line to file (plain, like OpenSSH's default
// HashKnownHosts=no), creating the file 0600 in a 0700 directory. It writes
// a temporary file and renames it over the original, so a crash never
// leaves a truncated known_hosts.
func appendKnownHost(file, line string) error {
	if resolved, err := filepath.EvalSymlinks(file); err == nil {
		file = resolved
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	old, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if len(old) > 0 && old[len(old)-1] != '\n' {
		old = append(old, '\n')
	}
	mode := fs.FileMode(0o600)
	if st, err := os.Stat(file); err == nil {
		mode = st.Mode().Perm()
	}
	return writeFileAtomic(file, append(old, line+"\n"...), mode)
}

func writeFileAtomic(file string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// placeholderAddr satisfies knownhosts, which parses the remote address even
// when a host name is given (and then ignores it).
func placeholderAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}
}
