package agent

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/transport"
)

// SlurmFacts is what a probe learned about a Slurm cluster from its login
// node: the version, the nodes by partition, and whether the shared root is
// really shared (a one-task job on a compute node read a marker the login
// node had just written there).
type SlurmFacts struct {
	Version string      `json:"version"` // "" when sinfo is missing
	Nodes   []SlurmNode `json:"nodes"`
	// SharedRoot is the state directory; Shared reports the check's result,
	// and SharedError what went wrong when it failed.
	SharedRoot  string `json:"shared_root"`
	Shared      bool   `json:"shared"`
	SharedNode  string `json:"shared_checked_on,omitempty"`
	SharedError string `json:"shared_error,omitempty"`
}

// SlurmNode is one line of `sinfo -N`.
type SlurmNode struct {
	Name      string `json:"name"`
	Partition string `json:"partition"` // "*" marks the default
	State     string `json:"state"`     // idle, alloc, mix, down, ...
	CPUs      string `json:"cpus"`
	MemoryMB  string `json:"memory_mb"`
	Gres      string `json:"gres"`
}

// slurmProbeScript prints key=value lines; $1 is the shared root. The
// check job reads back a random token through the compute node's mount.
const slurmProbeScript = `
root=$FERRY_PROBE_DIR
v=$(sinfo --version 2>/dev/null) && echo "version=$v"
sinfo -h -N -o 'node=%N|%P|%T|%c|%m|%G' 2>/dev/null
echo "root=$root"
mkdir -p "$root" && chmod 700 "$root" || exit 0
tok=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$tok" >"$root/.ferry-shared-check" || exit 0
echo "token=$tok"
out=$(srun --nodes=1 --ntasks=1 --immediate=30 --time=1 SRUN_OPTS sh -c 'printf "host=%s\n" "$(hostname)"; printf "read=%s\n" "$(cat "$1" 2>&1)"' sh "$root/.ferry-shared-check" 2>&1)
echo "srun_rc=$?"
printf '%s\n' "$out" | sed -n 's/^\(host\|read\)=/&/p'
printf '%s\n' "$out" | grep -v '^\(host\|read\)=' | tr '\n' ' ' | sed 's/^/srun_out=/'
echo
`

// ProbeSlurm runs the Slurm probe through sh, for target t.
func ProbeSlurm(ctx context.Context, sh Shell, t compute.Target) (*SlurmFacts, error) {
	var opts []string
	for flag, v := range map[string]string{"--partition=": t.Partition, "--account=": t.Account, "--qos=": t.QOS} {
		if v != "" {
			opts = append(opts, flag+v)
		}
	}
	script := strings.Replace(slurmProbeScript, "SRUN_OPTS", transport.QuoteArgs(opts), 1)
	out, err := sh.RunScript(ctx, script+"\ntrue\n")
	if err != nil {
		return nil, fmt.Errorf("probe slurm: %w", err)
	}
	return parseSlurmFacts(out), nil
}

func parseSlurmFacts(out []byte) *SlurmFacts {
	f := &SlurmFacts{}
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		if k == "node" {
			if n, ok := parseSlurmNode(v); ok {
				f.Nodes = append(f.Nodes, n)
			}
			continue
		}
		kv[k] = v
	}
	f.Version, f.SharedRoot, f.SharedNode = kv["version"], kv["root"], kv["host"]
	f.Shared = kv["token"] != "" && kv["read"] == kv["token"]
	if !f.Shared {
		f.SharedError = sharedError(f, kv)
	}
	return f
}

func parseSlurmNode(v string) (SlurmNode, bool) {
	p := strings.Split(v, "|")
	if len(p) != 6 {
		return SlurmNode{}, false
	}
	return SlurmNode{Name: p[0], Partition: p[1], State: p[2], CPUs: p[3], MemoryMB: p[4], Gres: p[5]}, true
}

// sharedError says why the shared-root check failed, naming the path.
func sharedError(f *SlurmFacts, kv map[string]string) string {
	marker := f.SharedRoot + "/.ferry-shared-check"
	switch {
	case f.Version == "":
		return "sinfo not found on the login node: is this a Slurm login node?"
	case kv["token"] == "":
		return fmt.Sprintf("cannot write %s on the login node", marker)
	case kv["srun_rc"] != "0" && kv["read"] == "":
		return fmt.Sprintf("the check job could not run (srun: %s)", strings.TrimSpace(kv["srun_out"]))
	}
	return fmt.Sprintf("%s is not shared: compute node %s could not read %s, which the login node wrote (it read %q)",
		f.SharedRoot, orUnknown(f.SharedNode), marker, kv["read"])
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}
