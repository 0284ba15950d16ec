package compute

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Target types.
const (
	TypeLocal  = "local"
	TypeRemote = "remote"
	// TypeHDInsight is a Spark cluster's head node, reached over SSH like
	// a remote target; its runs go through spark-submit to YARN.
	TypeHDInsight = "hdinsight"
	// TypeSlurm is a Slurm cluster's login node, reached over SSH; its
	// executor keeps its state (blobs, environments, runs) under the shared
	// root that every node mounts, and its runs are sbatch jobs.
	TypeSlurm = "slurm"
)

// LocalName is the name of the built-in target.
const LocalName = "local"

// DefaultStateDir is the executor's state directory on a remote target.
const DefaultStateDir = "~/.ferry"

// Target is one attached compute target.
type Target struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Address string `json:"address,omitempty"` // host name, IP or ~/.ssh/config alias
	Port    int    `json:"port,omitempty"`    // 0: from ~/.ssh/config, else 22
	User    string `json:"username,omitempty"`
	// PrivateKey is the path of the key file (never its content).
	PrivateKey string `json:"private_key,omitempty"`
	// Password is kept only in the 0600 target file; it is never printed,
	// logged or shown in --json output (see Public).
	Password   string `json:"password,omitempty"`
	KnownHosts string `json:"known_hosts,omitempty"`
	// StateDir is the executor's state directory on the target; for a
	// slurm target, the shared root (--shared-root).
	StateDir string `json:"state_dir,omitempty"`
	// Partition, Account and QOS are a slurm target's sbatch defaults.
	Partition string    `json:"partition,omitempty"`
	Account   string    `json:"account,omitempty"`
	QOS       string    `json:"qos,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Public is the view of a target that may be printed: no secrets.
type Public struct {
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Address     string    `json:"address,omitempty"`
	Port        int       `json:"port,omitempty"`
	User        string    `json:"username,omitempty"`
	PrivateKey  string    `json:"private_key,omitempty"`
	Auth        string    `json:"auth"` // "key", "password", "agent" or "local"
	KnownHosts  string    `json:"known_hosts,omitempty"`
	StateDir    string    `json:"state_dir,omitempty"`
	Partition   string    `json:"partition,omitempty"`
	Account     string    `json:"account,omitempty"`
	QOS         string    `json:"qos,omitempty"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	HasPassword bool      `json:"has_password"`
}

// Public returns the printable view of t.
func (t Target) Public() Public {
	return Public{
		Name: t.Name, Type: t.Type, Address: t.Address, Port: t.Port, User: t.User,
		PrivateKey: t.PrivateKey, Auth: t.AuthKind(), KnownHosts: t.KnownHosts,
		StateDir: t.StateDir, CreatedAt: t.CreatedAt, HasPassword: t.Password != "",
		Partition: t.Partition, Account: t.Account, QOS: t.QOS,
	}
}

// AuthKind says how ferry authenticates to t.
func (t Target) AuthKind() string {
	switch {
	case t.Type == TypeLocal:
		return "local"
	case t.PrivateKey != "":
		return "key"
	case t.Password != "":
		return "password"
	default:
		return "agent"
	}
}

// Local returns the built-in local target.
func Local() Target {
	return Target{Name: LocalName, Type: TypeLocal}
}

var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,31}$`) })

// ValidateName checks a target name: a letter, then up to 31 letters,
// digits, '-' or '_' (Azure ML's compute name rules, loosened).
func ValidateName(name string) error {
	if !nameRE().MatchString(name) {
		return fmt.Errorf("invalid compute target name %q: use a letter followed by up to 31 letters, digits, '-' or '_'", name)
	}
	return nil
}

// Validate checks a target before it is saved.
func (t Target) Validate() error {
	if err := ValidateName(t.Name); err != nil {
		return err
	}
	switch t.Type {
	case TypeSlurm:
		if !strings.HasPrefix(t.StateDir, "/") {
			return fmt.Errorf("compute target %s: --shared-root must be an absolute path on the file system every node of the cluster mounts", t.Name)
		}
		fallthrough
	case TypeRemote, TypeHDInsight:
		if t.Address == "" {
			return fmt.Errorf("compute target %s: --address is required for type %s", t.Name, t.Type)
		}
		if t.Port < 0 || t.Port > 65535 {
			return fmt.Errorf("compute target %s: port %d out of range", t.Name, t.Port)
		}
	case TypeLocal:
		return fmt.Errorf("compute target %s: type local is built in; attach remote targets", t.Name)
	default:
		return fmt.Errorf("compute target %s: unknown type %q (supported: remote, hdinsight, slurm)", t.Name, t.Type)
	}
	return nil
}

// SSH reports whether ferry reaches t over SSH (every type but local).
func (t Target) SSH() bool {
	return t.Type == TypeRemote || t.Type == TypeHDInsight || t.Type == TypeSlurm
}
