package engine

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// DefaultHost is the engine's socket when DOCKER_HOST is unset.
const DefaultHost = "unix:///var/run/docker.sock"

// Config names an engine and how to talk to it.
type Config struct {
	// Host is DOCKER_HOST: unix:///path or tcp://host:port. Empty means
	// DefaultHost.
	Host string
	// APIVersion pins the API version ("1.41"); empty negotiates it.
	APIVersion string
	// CertPath holds ca.pem, cert.pem and key.pem for TLS. With TLSVerify
	// or a CertPath, a tcp:// host is reached over TLS.
	CertPath string
	// TLSVerify asks for TLS with the certificates in CertPath (default
	// ~/.docker), as DOCKER_TLS_VERIFY does.
	TLSVerify bool
}

// FromEnv reads the Config the docker CLI would: DOCKER_HOST,
// DOCKER_API_VERSION, DOCKER_CERT_PATH and DOCKER_TLS_VERIFY.
func FromEnv() Config {
	return Config{
		Host:       os.Getenv("DOCKER_HOST"),
		APIVersion: os.Getenv("DOCKER_API_VERSION"),
		CertPath:   os.Getenv("DOCKER_CERT_PATH"),
		TLSVerify:  os.Getenv("DOCKER_TLS_VERIFY") != "",
	}
}

// Client talks to one engine. It is safe for concurrent use.
type Client struct {
	host   string // as configured, for messages
	base   string // scheme and authority of every request
	http   *http.Client
	pinned string // Config.APIVersion

	mu      sync.Mutex
	version string // negotiated; "" until the first call
}

// New makes a client for cfg. It makes no request: the first call
// negotiates the API version.
func New(cfg Config) (*Client, error) {
	host := cfg.Host
	if host == "" {
		host = DefaultHost
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("docker host %q: %w", host, err)
	}
	c := &Client{host: host, pinned: strings.TrimPrefix(cfg.APIVersion, "v")}
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 8}
	switch u.Scheme {
	case "unix":
		if u.Path == "" {
			return nil, fmt.Errorf("docker host %q: no socket path", host)
		}
		c.base = "http://docker"
		tr.DialContext = dialer("unix", u.Path)
	case "tcp", "http", "https":
		if err := c.tcp(u, cfg, tr); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("docker host %q: scheme %q not supported (use unix:// or tcp://)", host, u.Scheme)
	}
	c.http = &http.Client{Transport: tr}
	return c, nil
}

// tcp sets c and tr up for a tcp:// host, over TLS when cfg asks for it.
func (c *Client) tcp(u *url.URL, cfg Config, tr *http.Transport) error {
	useTLS := cfg.TLSVerify || cfg.CertPath != "" || u.Scheme == "https"
	addr := u.Host
	if u.Port() == "" {
		port := "2375"
		if useTLS {
			port = "2376"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	tr.DialContext = dialer("tcp", addr)
	if !useTLS {
		c.base = "http://" + addr
		return nil
	}
	conf, err := tlsConfig(cfg.CertPath)
	if err != nil {
		return fmt.Errorf("docker host %q: %w", c.host, err)
	}
	tr.TLSClientConfig = conf
	c.base = "https://" + addr
	return nil
}

// tlsConfig loads ca.pem (the engine's CA, always verified) and, when
// present, cert.pem and key.pem (this client's certificate) from dir.
func tlsConfig(dir string) (*tls.Config, error) {
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("find the docker certificates: %w", err)
		}
		dir = filepath.Join(home, ".docker")
	}
	ca, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return nil, fmt.Errorf("read the engine's CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("read the engine's CA: no certificate in %s", filepath.Join(dir, "ca.pem"))
	}
	conf := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	switch {
	case err == nil:
		conf.Certificates = []tls.Certificate{cert}
	case !os.IsNotExist(err):
		return nil, fmt.Errorf("read the client certificate: %w", err)
	}
	return conf, nil
}

// dialer dials addr whatever address a request names, and marks its
// failures as a ConnectError.
func dialer(network, addr string) func(ctx context.Context, _, _ string) (net.Conn, error) {
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, &ConnectError{Err: err}
		}
		return conn, nil
	}
}

// Host is the engine's address as configured (DOCKER_HOST or DefaultHost).
func (c *Client) Host() string { return c.host }

// Close drops the idle connections to the engine.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// request is one API call.
type request struct {
	method string
	path   string // after the version, e.g. "/containers/create"
	query  url.Values
	body   io.Reader
	header http.Header
}

// do sends r under the negotiated version. An answer of 400 or more is
// returned as an *Error, its body read and closed; otherwise the caller
// closes the body.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	v, err := c.APIVersion(ctx)
	if err != nil {
		return nil, err
	}
	u := c.base + "/v" + v + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, r.body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, unwrapURL(err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}

// call sends r with in (when not nil) as its JSON body and decodes the
// answer into out (when not nil).
func (c *Client) call(ctx context.Context, r request, in, out any) error {
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: %w", r.method, r.path, err)
		}
		r.body = bytes.NewReader(b)
		r.header = http.Header{"Content-Type": {"application/json"}}
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode the answer: %w", r.method, r.path, err)
	}
	return nil
}

// Version is the engine's own version, e.g. "20.10.24+dfsg1".
func (c *Client) Version(ctx context.Context) (string, error) {
	var v struct{ Version string }
	if err := c.call(ctx, request{method: http.MethodGet, path: "/version"}, nil, &v); err != nil {
		return "", err
	}
	return v.Version, nil
}

// unwrapURL drops net/http's *url.Error, whose text repeats the URL (a
// made-up host for a unix socket), keeping what it wraps.
func unwrapURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
