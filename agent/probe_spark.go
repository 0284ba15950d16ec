package agent

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
)

// sparkProbeScript reports a Spark head node's facts as "key=value" lines:
// spark-submit and its version (its banner goes to stderr), YARN's nodes by
// state (`yarn node -list -all`: the state is the second column of each
// node row), the default file system and the pythons an HDInsight node
// carries.
const sparkProbeScript = `
p=$(command -v spark-submit 2>/dev/null) && {
  echo "spark_submit=$p"
  spark-submit --version 2>&1 | sed -n 's/.*version \([0-9][0-9.]*\).*/spark_version=\1/p' | head -n1
}
command -v yarn >/dev/null 2>&1 && yarn node -list -all 2>/dev/null | awk -F'\t' 'NF >= 4 && $1 ~ /:[0-9]+ *$/ { gsub(/ /, "", $2); print "yarn_node=" $2 }'
command -v hdfs >/dev/null 2>&1 && echo "default_fs=$(hdfs getconf -confKey fs.defaultFS 2>/dev/null)"
for c in python3 python /usr/bin/anaconda/bin/python /usr/bin/anaconda/envs/py35/bin/python; do
  p=$(command -v "$c" 2>/dev/null) || continue
  echo "python_found=$p $("$p" --version 2>&1 | head -n1)"
done
`

// SparkFacts is what a probe learned about a Spark cluster's head node.
type SparkFacts struct {
	SparkSubmit string `json:"spark_submit"` // path, "" when missing
	Version     string `json:"spark_version,omitempty"`
	// NodesRunning and NodesUnhealthy count YARN's nodes in those states;
	// Nodes counts them all.
	Nodes          int      `json:"yarn_nodes"`
	NodesRunning   int      `json:"yarn_nodes_running"`
	NodesUnhealthy int      `json:"yarn_nodes_unhealthy"`
	DefaultFS      string   `json:"default_fs,omitempty"`
	Pythons        []string `json:"pythons"` // "PATH Python X.Y.Z"
}

// ProbeSpark runs the Spark probe through sh.
func ProbeSpark(ctx context.Context, sh Shell) (*SparkFacts, error) {
	out, err := sh.RunScript(ctx, sparkProbeScript+"\ntrue\n")
	if err != nil {
		return nil, fmt.Errorf("probe spark: %w", err)
	}
	return parseSparkFacts(out), nil
}

func parseSparkFacts(out []byte) *SparkFacts {
	f := &SparkFacts{Pythons: []string{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "spark_submit":
			f.SparkSubmit = v
		case "spark_version":
			f.Version = v
		case "default_fs":
			f.DefaultFS = v
		case "python_found":
			f.Pythons = append(f.Pythons, v)
		case "yarn_node":
			f.Nodes++
			f.NodesRunning += b2i(v == "RUNNING")
			f.NodesUnhealthy += b2i(v == "UNHEALTHY")
		}
	}
	return f
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// String summarises the nodes: "2 running, 1 unhealthy (of 4)".
func (f *SparkFacts) String() string {
	return strconv.Itoa(f.NodesRunning) + " running, " + strconv.Itoa(f.NodesUnhealthy) + " unhealthy (of " + strconv.Itoa(f.Nodes) + ")"
}
