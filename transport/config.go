package transport

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Defaults for Config fields left zero.
const (
	DefaultPort              = 22
	DefaultConnectTimeout    = 15 * time.Second
	DefaultKeepaliveInterval = 5 * time.Second
)

// Config says how to reach and authenticate to one SSH server. Explicit
// fields win over what the ssh config file says about Host; zero fields are
// filled from it, then from OpenSSH's defaults.
type Config struct {
	// Host is a host name, an address, or a ~/.ssh/config alias, optionally
	// prefixed "user@" (used when User is empty).
	Host string
	// Port is the TCP port; 0 means the ssh config's Port, else 22.
	Port int
	// User is the remote user; "" means the ssh config's User, else the
	// local user name.
	User string
	// KeyFile is a private key file. "" means the ssh config's first
	// IdentityFile, else the default ~/.ssh/id_{ed25519,ecdsa,rsa} that exist.
	// When set (or configured), only this key is offered, also from the agent.
	KeyFile string
	// Password is offered (password and keyboard-interactive auth) after keys.
	Password string
	// Passphrase returns the passphrase of an encrypted KeyFile. It is only
	// called when needed (the agent does not hold the key). nil with an
	// encrypted key makes Dial fail with ErrPassphraseRequired.
	Passphrase func() ([]byte, error)
	// KnownHostsFiles are checked for the host key; new keys are appended to
	// the first. nil means the ssh config's UserKnownHostsFile, else
	// ~/.ssh/known_hosts (plus /etc/ssh/ssh_known_hosts, read only).
	KnownHostsFiles []string
	// AcceptNewHostKey records an unknown host's key instead of refusing
	// (OpenSSH's StrictHostKeyChecking=accept-new). A changed key is
	// refused regardless.
	AcceptNewHostKey bool
	// AcceptHostKeyFingerprint records an unknown host's key only when its
	// SHA-256 fingerprint ("SHA256:...") is exactly this one: the key a
	// person saw and confirmed, so that a key swapped in between is still
	// refused. A changed key is refused regardless.
	AcceptHostKeyFingerprint string
	// UseAgent offers keys held by the agent at $SSH_AUTH_SOCK.
	UseAgent bool
	// SSHConfigFile is the ssh config to read: "" means ~/.ssh/config,
	// "none" means none.
	SSHConfigFile string
	// ConnectTimeout bounds TCP connect, handshake and authentication
	// together; 0 means 15 s.
	ConnectTimeout time.Duration
	// KeepaliveInterval is the period of keepalive@openssh.com requests; a
	// connection with a request unanswered for twice this long is closed.
	// 0 means 5 s; negative disables keepalives.
	KeepaliveInterval time.Duration
	// Logger receives diagnostics; nil means none. Secrets are never logged.
	Logger hclog.Logger
}

// target is a Config resolved against the ssh config and the defaults.
type target struct {
	alias          string // Host as given
	host           string // the name to connect to (HostName)
	port           int
	user           string
	keyFiles       []string // offered in order; IdentitiesOnly when keyExplicit
	keyExplicit    bool
	knownHosts     []string // user files; new keys go to the first
	globalKnown    []string // read only
	proxyJump      string   // "" or comma-separated hops
	connectTimeout time.Duration
	keepalive      time.Duration
}

// hostPort is the address to dial, "host:port".
func (t *target) hostPort() string { return net.JoinHostPort(t.host, strconv.Itoa(t.port)) }

// resolve fills t from cfg, the ssh config file, and the defaults.
func resolve(cfg Config) (*target, error) {
	if cfg.Host == "" {
		return nil, permanent(fmt.Errorf("resolve target: no host given"))
	}
	if u, h, ok := strings.Cut(cfg.Host, "@"); ok && cfg.User == "" {
		cfg.User, cfg.Host = u, h // "user@host", as ssh accepts it
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, permanent(fmt.Errorf("resolve target: %w", err))
	}
	hs, err := loadHostSettings(cfg, home)
	if err != nil {
		return nil, permanent(err)
	}
	t := &target{alias: cfg.Host, host: cfg.Host, proxyJump: hs.ProxyJump}
	if hs.HostName != "" {
		t.host = expandTokens(hs.HostName, t, home) // %h is the alias here
	}
	if err := t.setPort(cfg.Port, hs.Port); err != nil {
		return nil, permanent(err)
	}
	t.user = firstNonEmpty(cfg.User, hs.User, localUser())
	t.setKeys(cfg.KeyFile, hs.IdentityFiles, home)
	t.setKnownHosts(cfg.KnownHostsFiles, hs.UserKnownHostsFile, home)
	t.connectTimeout = cmpOr(cfg.ConnectTimeout, DefaultConnectTimeout)
	t.keepalive = cmpOr(cfg.KeepaliveInterval, DefaultKeepaliveInterval)
	return t, nil
}

func loadHostSettings(cfg Config, home string) (hostSettings, error) {
	path := cfg.SSHConfigFile
	switch path {
	case "none":
		return hostSettings{}, nil
	case "":
		path = filepath.Join(home, ".ssh", "config")
	}
	return readSSHConfig(path, cfg.Host, home)
}

func (t *target) setPort(explicit int, configured string) error {
	t.port = explicit
	if t.port == 0 && configured != "" {
		p, err := strconv.Atoi(configured)
		if err != nil || p <= 0 || p > 65535 {
			return fmt.Errorf("resolve target %s: bad Port %q in ssh config", t.alias, configured)
		}
		t.port = p
	}
	if t.port == 0 {
		t.port = DefaultPort
	}
	return nil
}

func (t *target) setKeys(explicit string, configured []string, home string) {
	switch {
	case explicit != "":
		t.keyFiles, t.keyExplicit = []string{expandTilde(explicit, home)}, true
	case len(configured) > 0:
		t.keyFiles, t.keyExplicit = []string{expandTokens(configured[0], t, home)}, true
	default:
		for _, name := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			p := filepath.Join(home, ".ssh", name)
			if _, err := os.Stat(p); err == nil {
				t.keyFiles = append(t.keyFiles, p)
			}
		}
	}
}

func (t *target) setKnownHosts(explicit, configured []string, home string) {
	switch {
	case len(explicit) > 0:
		t.knownHosts = explicit
		return
	case len(configured) > 0 && !strings.EqualFold(configured[0], "none"):
		for _, f := range configured {
			t.knownHosts = append(t.knownHosts, expandTokens(f, t, home))
		}
	default:
		t.knownHosts = []string{filepath.Join(home, ".ssh", "known_hosts")}
	}
	t.globalKnown = []string{"/etc/ssh/ssh_known_hosts"}
}

// expandTokens expands "~" and the ssh_config tokens %%, %d, %h, %n, %p,
// %r and %u.
func expandTokens(s string, t *target, home string) string {
	s = expandTilde(s, home)
	if !strings.Contains(s, "%") {
		return s
	}
	r := strings.NewReplacer("%%", "%", "%d", home, "%h", t.host, "%n", t.alias,
		"%p", strconv.Itoa(t.port), "%r", t.user, "%u", localUser())
	return r.Replace(s)
}

func localUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
