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

	"github.com/ferry-ml/ferry/internal/fsutil"
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
	acceptFP  string // accept an unknown key with exactly this fingerprint
	log       hclog.Logger
	check     ssh.HostKeyCallback

	mu  sync.Mutex
	key ssh.PublicKey // the verified key
	err error         // why verification failed, if it did
}

func newHostKeyChecker(t *target, acceptNew bool, acceptFP string, log hclog.Logger) (*hostKeyChecker, error) {
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
	return &hostKeyChecker{hostPort: t.hostPort(), files: t.knownHosts, acceptNew: acceptNew,
		acceptFP: acceptFP, log: log, check: check}, nil
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
	accept := h.acceptNew || (h.acceptFP != "" && h.acceptFP == fp)
	if !accept || len(h.files) == 0 {
		return &HostKeyUnknownError{Host: host, KeyType: key.Type(), Fingerprint: fp}
	}
	recorded, err := appendKnownHost(h.files[0], knownhosts.Line([]string{host}, key))
	if err != nil {
		return permanent(fmt.Errorf("record host key: %w", err))
	}
	if !recorded {
		h.log.Info("accepted new host key without recording it", "host", host, "key_type", key.Type(), "fingerprint", fp, "file", h.files[0])
		return nil
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
// HashKnownHosts=no), creating the file 0600 in a 0700 directory, and
// reports whether it recorded anything. Like OpenSSH, which appends through
// fopen(file, "a"), it writes through symlinks (to their final target, even
// a missing one) and treats /dev/null as a sink: with UserKnownHostsFile
// /dev/null nothing is recorded. Anything else that is not a regular file
// (a FIFO, another device) is refused; fsutil's atomic writer never renames
// over it, so a crash never leaves a truncated known_hosts either.
func appendKnownHost(file, line string) (bool, error) {
	file, err := resolveLinks(file)
	if err != nil {
		return false, err
	}
	mode := fs.FileMode(0o600)
	st, err := os.Stat(file)
	switch {
	case err == nil && isDevNull(st):
		return false, nil
	case err == nil && !st.Mode().IsRegular():
		return false, fmt.Errorf("known hosts %s is a %s, not a regular file: %w", file, st.Mode().Type(), fsutil.ErrNotRegular)
	case err == nil:
		mode = st.Mode().Perm()
	case !errors.Is(err, fs.ErrNotExist):
		return false, err
	}
	old, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if len(old) > 0 && old[len(old)-1] != '\n' {
		old = append(old, '\n')
	}
	return true, fsutil.WriteFileAtomic(file, append(old, line+"\n"...), mode)
}

// maxLinks bounds symlink chains, like the kernel's ELOOP limit.
const maxLinks = 40

// resolveLinks follows file through symlinks to the path they finally name,
// which may not exist yet (a dangling link is written through, as
// fopen(file, "a") does).
func resolveLinks(file string) (string, error) {
	for range maxLinks {
		st, err := os.Lstat(file)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && st.Mode()&fs.ModeSymlink == 0) {
			return file, nil
		}
		if err != nil {
			return "", err
		}
		dest, err := os.Readlink(file)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(file), dest)
		}
		file = dest
	}
	return "", fmt.Errorf("known hosts %s: too many levels of symbolic links", file)
}

// devNull is /dev/null; tests point it at a device node of their own.
var devNull = os.DevNull

// isDevNull reports whether st is /dev/null itself.
func isDevNull(st fs.FileInfo) bool {
	null, err := os.Stat(devNull)
	return err == nil && os.SameFile(st, null)
}

// placeholderAddr satisfies knownhosts, which parses the remote address even
// when a host name is given (and then ignores it).
func placeholderAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}
}
