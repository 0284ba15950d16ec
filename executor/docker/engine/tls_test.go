package engine

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTLS: a tcp:// engine behind TLS (here the real engine's socket behind
// a TLS proxy that asks for a client certificate) is reached with the
// certificates of DOCKER_CERT_PATH, and refused when its certificate is not
// signed by ca.pem or this client has none.
func TestTLS(t *testing.T) {
	local := requireEngine(t)
	want, err := local.Version(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ca := newCA(t, "engine CA")
	addr := tlsProxy(t, ca, strings.TrimPrefix(local.Host(), "unix://"))
	good := certDir(t, ca, ca, true)
	for _, tt := range []struct {
		name, dir, err string
	}{
		{"verified", good, ""},
		{"another CA", certDir(t, newCA(t, "other CA"), ca, true), "certificate"},
		{"no client certificate", certDir(t, ca, ca, false), "certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{Host: "tcp://" + addr, CertPath: tt.dir, TLSVerify: true})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got, err := c.Version(t.Context())
			t.Logf("Version: %q, %v", got, err)
			if tt.err == "" && (err != nil || got != want) {
				t.Fatalf("Version over TLS = %q, %v; want %q", got, err, want)
			}
			if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Version over TLS = %q, %v; want an error with %q", got, err, tt.err)
			}
		})
	}
}

// authority is a CA that signs certificates for the test.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) authority {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, key := sign(t, tmpl, nil, nil)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return authority{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue makes a certificate for 127.0.0.1 (server) or a client.
func (a authority) issue(t *testing.T, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "ferry test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, key := sign(t, tmpl, a.cert, a.key)
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// sign makes a key and signs tmpl with parent (itself when nil).
func sign(t *testing.T, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

// certDir writes a DOCKER_CERT_PATH: trusted's CA, and a client
// certificate from issuer when withCert.
func certDir(t *testing.T, trusted, issuer authority, withCert bool) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{"ca.pem": trusted.pem}
	if withCert {
		files["cert.pem"], files["key.pem"] = issuer.issue(t, false)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tlsProxy serves TLS on 127.0.0.1 with a certificate of ca, asks for a
// client certificate of ca, and forwards each connection to the socket.
func tlsProxy(t *testing.T, ca authority, socket string) string {
	t.Helper()
	certPEM, keyPEM := ca.issue(t, true)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert},
		ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go forward(conn, socket)
		}
	}()
	return ln.Addr().String()
}

// forward copies between conn and a fresh connection to socket.
func forward(conn net.Conn, socket string) {
	defer conn.Close()
	up, err := net.Dial("unix", socket)
	if err != nil {
		return
	}
	defer up.Close()
	go func() { _, _ = io.Copy(up, conn); up.Close() }()
	_, _ = io.Copy(conn, up)
}
