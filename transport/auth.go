package transport

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// credentials are the auth methods for one handshake.
type credentials struct {
	methods []ssh.AuthMethod
	offered []string  // descriptions for AuthError, never secrets
	agent   net.Conn  // open during the handshake; nil without an agent
	trace   authTrace // what the server said during authentication
}

// close releases the agent connection; signing only happens during the
// handshake.
func (c *credentials) close() {
	if c.agent != nil {
		c.agent.Close()
	}
}

// loadCredentials prepares key, agent and password auth. With a configured
// key file only that key is offered (like IdentitiesOnly), signed by the
// agent when the agent holds it, so an agent full of keys cannot exhaust the
// server's MaxAuthTries.
func loadCredentials(cfg Config, t *target, log hclog.Logger) (*credentials, error) {
	c := &credentials{}
	agentSigners, err := c.openAgent(cfg.UseAgent, log)
	if err != nil {
		return nil, err
	}
	var signers []ssh.Signer
	if !t.keyExplicit {
		signers = append(signers, agentSigners...)
		c.describe("agent key", agentSigners)
	}
	for _, path := range t.keyFiles {
		s, how, err := loadKey(path, agentSigners, cfg.Passphrase)
		if err != nil && t.keyExplicit {
			c.close()
			return nil, err
		}
		if err != nil || s == nil || containsKey(signers, s.PublicKey()) {
			log.Debug("skipping default key", "key_file", path, "error", err)
			continue
		}
		signers = append(signers, s)
		c.offered = append(c.offered, fmt.Sprintf("key %s (%s%s)", path, ssh.FingerprintSHA256(s.PublicKey()), how))
	}
	if len(signers) > 0 {
		c.methods = append(c.methods, ssh.PublicKeys(signers...))
	}
	if cfg.Password != "" {
		c.methods = append(c.methods, ssh.Password(cfg.Password), ssh.KeyboardInteractive(answerPassword(cfg.Password)))
		c.offered = append(c.offered, "password")
	}
	return c, nil
}

func (c *credentials) describe(what string, signers []ssh.Signer) {
	for _, s := range signers {
		c.offered = append(c.offered, what+" "+ssh.FingerprintSHA256(s.PublicKey()))
	}
}

// openAgent connects to $SSH_AUTH_SOCK and lists its keys. A missing or
// unreachable agent is not an error, as with OpenSSH.
func (c *credentials) openAgent(use bool, log hclog.Logger) ([]ssh.Signer, error) {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if !use || sock == "" {
		return nil, nil
	}
	conn, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		log.Debug("ssh agent unreachable", "socket", sock, "error", err)
		return nil, nil
	}
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		conn.Close()
		log.Debug("list ssh agent keys", "socket", sock, "error", err)
		return nil, nil
	}
	c.agent = conn
	log.Debug("ssh agent keys", "count", len(signers))
	return signers, nil
}

// loadKey returns a signer for the key file: the agent's when the agent
// holds the key, else one parsed from the file (decrypted with passphrase
// when it is encrypted). how says which, for AuthError.
func loadKey(path string, agentSigners []ssh.Signer, passphrase func() ([]byte, error)) (ssh.Signer, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", permanent(fmt.Errorf("read key: %w", err))
	}
	s, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		return s, "", nil
	case !errors.As(err, &missing):
		return nil, "", permanent(fmt.Errorf("parse key %s: %w", path, err))
	}
	pub := missing.PublicKey
	if pub == nil {
		pub = readPublicKey(path + ".pub")
	}
	if as := findKey(agentSigners, pub); as != nil {
		return as, ", from agent", nil
	}
	s, err = decryptedKeys.get(data, func() (ssh.Signer, error) { return decryptKey(path, data, passphrase) })
	return s, "", err
}

func decryptKey(path string, data []byte, passphrase func() ([]byte, error)) (ssh.Signer, error) {
	if passphrase == nil {
		return nil, fmt.Errorf("load key %s: %w", path, ErrPassphraseRequired)
	}
	pass, err := passphrase()
	if err != nil {
		return nil, permanent(fmt.Errorf("read passphrase for %s: %w", path, err))
	}
	defer clear(pass)
	s, err := ssh.ParsePrivateKeyWithPassphrase(data, pass)
	if errors.Is(err, x509.IncorrectPasswordError) {
		return nil, permanent(fmt.Errorf("decrypt key %s: incorrect passphrase", path))
	}
	if err != nil {
		return nil, permanent(fmt.Errorf("decrypt key %s: %w", path, err))
	}
	return s, nil
}

func readPublicKey(path string) ssh.PublicKey {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil
	}
	return pub
}

func findKey(signers []ssh.Signer, pub ssh.PublicKey) ssh.Signer {
	if pub == nil {
		return nil
	}
	for _, s := range signers {
		if bytes.Equal(s.PublicKey().Marshal(), pub.Marshal()) {
			return s
		}
	}
	return nil
}

func containsKey(signers []ssh.Signer, pub ssh.PublicKey) bool {
	return findKey(signers, pub) != nil
}

// answerPassword answers a keyboard-interactive challenge that asks one
// hidden question (PAM's "Password:") with the configured password. It
// never prompts anyone.
func answerPassword(pw string) ssh.KeyboardInteractiveChallenge {
	return func(_, _ string, questions []string, echos []bool) ([]string, error) {
		if len(questions) == 0 {
			return nil, nil
		}
		if len(questions) == 1 && !echos[0] {
			return []string{pw}, nil
		}
		return nil, errors.New("keyboard-interactive challenge is not a password prompt")
	}
}

// authTrace records what the server allowed during authentication, so a
// failed handshake can be reported as an AuthError.
type authTrace struct {
	mu      sync.Mutex
	started bool
	allowed []string
}

// callback is the ClientConfig.AuthCallback: it only observes, and lets
// x/crypto pick the next method from ClientConfig.Auth.
func (a *authTrace) callback(ctx *ssh.ClientAuthContext) (ssh.AuthMethod, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.started = true
	if len(ctx.AllowedMethods) > 0 {
		a.allowed = slices.Clone(ctx.AllowedMethods)
	}
	return nil, nil
}

func (a *authTrace) state() (bool, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.started, slices.Clone(a.allowed)
}
