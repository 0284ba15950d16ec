package agent

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"
)

// probeScript reports facts about a target as "key=value" lines. It is
// POSIX sh so that it runs on any Linux target with nothing installed.
const probeScript = `
os=$( (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") || uname -s)
echo "os=$os"
echo "kernel=$(uname -r)"
echo "arch=$(uname -m)"
echo "home=$HOME"
py=$(command -v python3 || command -v python || true)
echo "python_path=$py"
[ -n "$py" ] && echo "python=$("$py" --version 2>&1 | head -n1)"
for t in micromamba mamba conda; do
  p=$(command -v $t 2>/dev/null) && { echo "conda_tool=$t"; echo "conda_path=$p"; break; }
done
if command -v docker >/dev/null 2>&1; then
  echo "docker_client=$(docker version --format '{{.Client.Version}}' 2>/dev/null)"
  echo "docker_server=$(docker version --format '{{.Server.Version}}' 2>/dev/null)"
fi
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu=/'
fi
echo "cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null)"
echo "mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null)"
d="${FERRY_PROBE_DIR:-$HOME}"
[ -d "$d" ] || d="$HOME"
echo "disk_dir=$d"
echo "disk_free_kb=$(df -Pk "$d" 2>/dev/null | awk 'NR==2 {print $4}')"
`

// Facts is what a probe learned about a target.
type Facts struct {
	OS           string   `json:"os"`
	Kernel       string   `json:"kernel"`
	Arch         string   `json:"arch"`
	Home         string   `json:"home"`
	Python       string   `json:"python,omitempty"`
	PythonPath   string   `json:"python_path,omitempty"`
	CondaTool    string   `json:"conda_tool,omitempty"`
	CondaPath    string   `json:"conda_path,omitempty"`
	DockerClient string   `json:"docker_client,omitempty"`
	DockerServer string   `json:"docker_server,omitempty"`
	GPUs         []string `json:"gpus"`
	CPUs         string   `json:"cpus,omitempty"`
	MemKB        string   `json:"mem_kb,omitempty"`
	DiskDir      string   `json:"disk_dir"`
	DiskFreeKB   string   `json:"disk_free_kb"`
	// Spark is filled for hdinsight targets.
	Spark *SparkFacts `json:"spark,omitempty"`
	// Slurm is filled for slurm targets.
	Slurm *SlurmFacts `json:"slurm,omitempty"`
}

// Shell runs a POSIX shell script on a target and returns its stdout.
type Shell interface {
	RunScript(ctx context.Context, script string) ([]byte, error)
}

// Probe runs the probe script through sh.
func Probe(ctx context.Context, sh Shell) (*Facts, error) {
	out, err := sh.RunScript(ctx, probeScript)
	if err != nil {
		return nil, fmt.Errorf("probe target: %w", err)
	}
	return parseFacts(out), nil
}

func parseFacts(out []byte) *Facts {
	f := &Facts{GPUs: []string{}}
	fields := map[string]*string{
		"os": &f.OS, "kernel": &f.Kernel, "arch": &f.Arch, "home": &f.Home,
		"python": &f.Python, "python_path": &f.PythonPath, "conda_tool": &f.CondaTool,
		"conda_path": &f.CondaPath, "docker_client": &f.DockerClient,
		"docker_server": &f.DockerServer, "cpus": &f.CPUs, "mem_kb": &f.MemKB,
		"disk_dir": &f.DiskDir, "disk_free_kb": &f.DiskFreeKB,
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		if k == "gpu" {
			f.GPUs = append(f.GPUs, strings.TrimSpace(v))
		} else if p, ok := fields[k]; ok {
			*p = strings.TrimSpace(v)
		}
	}
	return f
}

// GoArch maps `uname -m` to a Go architecture name, or "" if unsupported.
func GoArch(unameM string) string {
	switch unameM {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	}
	return ""
}
