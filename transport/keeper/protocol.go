package keeper

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"

	"github.com/ferry-ml/ferry/transport"
)

// Target is the part of a transport.Config a keeper can be sent: how to
// reach and authenticate to one SSH server. A keeper never accepts a new
// host key and asks for no passphrase.
type Target struct {
	Host            string   `json:"host"`
	Port            int      `json:"port,omitempty"`
	User            string   `json:"user,omitempty"`
	KeyFile         string   `json:"key_file,omitempty"`
	Password        string   `json:"password,omitempty"`
	KnownHostsFiles []string `json:"known_hosts_files,omitempty"`
	UseAgent        bool     `json:"use_agent,omitempty"`
	SSHConfigFile   string   `json:"ssh_config_file,omitempty"`
}

// TargetOf returns the part of cfg a keeper can use.
func TargetOf(cfg transport.Config) Target {
	return Target{Host: cfg.Host, Port: cfg.Port, User: cfg.User, KeyFile: cfg.KeyFile,
		Password: cfg.Password, KnownHostsFiles: cfg.KnownHostsFiles, UseAgent: cfg.UseAgent,
		SSHConfigFile: cfg.SSHConfigFile}
}

// config is the transport.Config the keeper dials t with.
func (t Target) config() transport.Config {
	return transport.Config{Host: t.Host, Port: t.Port, User: t.User, KeyFile: t.KeyFile,
		Password: t.Password, KnownHostsFiles: t.KnownHostsFiles, UseAgent: t.UseAgent,
		SSHConfigFile: t.SSHConfigFile}
}

// key identifies the connection t needs: every field, password included
// (hashed, so it is never logged).
func (t Target) key() string {
	b, _ := json.Marshal(t)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Operations a request names.
const (
	opWatch = "watch" // answer, then end the stream when the connection ends
	opUnix  = "unix"  // a stream to the unix socket Path on the target
	opExec  = "exec"  // run Argv; framed stdin, stdout, stderr, exit status
	opStart = "start" // run Argv; stdin and stdout framed as they flow (start.go)
	opStop  = "stop"  // close every connection and exit
	opTree  = "tree"  // the state of the local tree at Path, and what changed since Since (trees.go)
)

// request is a request's first line.
type request struct {
	Op     string   `json:"op"`
	Target Target   `json:"target"`
	Path   string   `json:"path,omitempty"`
	Argv   []string `json:"argv,omitempty"`
	// Since is a tree request's earlier token ("": none).
	Since string `json:"since,omitempty"`
}

// response is the keeper's first line. Error is empty on success.
type response struct {
	Error string `json:"error,omitempty"`
	// Kind classifies Error for the callers that branch on it.
	Kind string `json:"kind,omitempty"`
	// Tree answers a tree request.
	TreeState
}

// Error kinds.
const (
	kindDial     = "dial"      // the keeper could not connect: dial yourself
	kindRefused  = "refused"   // sshd refused socket forwarding
	kindNotExist = "not_exist" // no such socket on the target
)

// ErrDial means the keeper could not connect to the target (a host not yet
// in known_hosts, a key that needs a passphrase, a network error): the
// caller dials the target itself, which reports the cause as before.
var ErrDial = errors.New("keeper could not connect")

// errOf turns a response into the error it carries.
func (r response) err() error {
	switch {
	case r.Error == "":
		return nil
	case r.Kind == kindDial:
		return fmt.Errorf("%w: %s", ErrDial, r.Error)
	case r.Kind == kindRefused:
		return fmt.Errorf("keeper: %s: %w", r.Error, transport.ErrForwardingRefused)
	case r.Kind == kindNotExist:
		return fmt.Errorf("keeper: %s: %w", r.Error, fs.ErrNotExist)
	}
	return fmt.Errorf("keeper: %s", r.Error)
}

// maxLine caps a request or response line.
const maxLine = 64 << 10

// readLine reads one JSON line into v without reading past it.
func readLine(c net.Conn, v any) error {
	// A byte at a time, so that nothing of the stream after it is read.
	var line []byte
	b := make([]byte, 1)
	for len(line) < maxLine {
		if _, err := io.ReadFull(c, b); err != nil {
			return err
		}
		if b[0] == '\n' {
			return json.Unmarshal(line, v)
		}
		line = append(line, b[0])
	}
	return errors.New("line too long")
}

func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Frame types of an exec or start stream.
const (
	frameStdin    = 1 // client -> keeper: stdin bytes
	frameStdinEOF = 2 // client -> keeper: stdin ended
	frameStdout   = 3 // keeper -> client
	frameStderr   = 4 // keeper -> client
	frameExit     = 5 // keeper -> client: 4-byte exit status, last frame
	frameError    = 6 // keeper -> client: transport error text, last frame
)

// maxFrame caps one frame's payload.
const maxFrame = 1 << 20

func writeFrame(w io.Writer, typ byte, data []byte) error {
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), maxFrame)
		var h [5]byte
		h[0] = typ
		binary.BigEndian.PutUint32(h[1:], uint32(n))
		if _, err := w.Write(append(h[:], data[:n]...)); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

func readFrame(r io.Reader) (byte, []byte, error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("frame of %d bytes is over the limit", n)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return 0, nil, err
	}
	return h[0], data, nil
}
