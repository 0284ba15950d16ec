package spark

import (
	"strconv"
	"strings"
)

// entrySource is the driver's entry point. spark-submit runs it as the
// primary resource; it moves into the snapshot (the unpacked archive in a
// cluster-mode container, the materialised snapshot on the head node in
// client mode), so that relative imports and data files work as they do
// locally, then runs the script as __main__ with its arguments. In cluster
// mode, files the script left in outputs/ are copied to FERRY_OUTPUTS_DIR on
// the default file system (the container's disk is gone afterwards), and
// the metrics the script logged (ferry_run) to MetricsPath beside it.
//
// EntryPoint fills in the {{...}} fields with strings.Replacer, in one pass.
// Not text/template: the executor links this package, and text/template's
// reflect.Value.MethodByName makes the linker keep every exported method
// of every type in the binary (that was 2.8 MB of the executor's 13.5 MB,
// sent over the link at each install).
const entrySource = `# ferry: the driver's entry point for run {{.RunID}} (generated).
import os, posixpath, runpy, subprocess, sys
if {{.Cluster}}:
    os.environ["FERRY_METRICS_FILE"] = os.path.abspath("ferry-metrics.jsonl")
snap = {{.Snapshot}}
script = os.path.join(snap, {{.Script}})
os.chdir(snap)
sys.path.insert(0, os.path.dirname(script))
sys.argv = [script] + sys.argv[1:]
code = 0
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as e:
    code = e.code
finally:
    if {{.Cluster}} and os.path.isdir("outputs") and os.listdir("outputs"):
        dest = os.environ.get("FERRY_OUTPUTS_DIR", "")
        names = [os.path.join("outputs", n) for n in sorted(os.listdir("outputs"))]
        sys.stdout.flush()
        if dest and subprocess.call(["hdfs", "dfs", "-put", "-f"] + names + [dest]) != 0:
            sys.stderr.write("ferry: could not copy outputs/ to %s\n" % dest)
    metrics = os.environ.get("FERRY_METRICS_FILE", "")
    if {{.Cluster}} and os.path.exists(metrics) and os.environ.get("FERRY_OUTPUTS_DIR"):
        sys.stdout.flush()
        dest = posixpath.join(posixpath.dirname(os.environ["FERRY_OUTPUTS_DIR"]), "metrics.jsonl")
        if subprocess.call(["hdfs", "dfs", "-put", "-f", metrics, dest]) != 0:
            sys.stderr.write("ferry: could not copy metrics to %s\n" % dest)
sys.exit(code)
`

// EntryPoint returns the entry point's Python source. workDir is the
// materialised snapshot on the head node (used in client mode).
func (j Job) EntryPoint(workDir string) []byte {
	snap := strconv.Quote(workDir)
	cluster := "False"
	if j.Mode() == ModeCluster {
		snap, cluster = `os.path.abspath("`+SnapshotAlias+`")`, "True"
	}
	fields := strings.NewReplacer("{{.RunID}}", j.RunID, "{{.Snapshot}}", snap,
		"{{.Script}}", strconv.Quote(j.Script), "{{.Cluster}}", cluster)
	return []byte(fields.Replace(entrySource))
}
