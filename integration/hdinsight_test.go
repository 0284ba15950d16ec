package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/internal/testutil/fakeconda"
)

// etlScript is a PySpark-style script. It reads a data file relative to
// the snapshot, makes a SparkSession (in client mode that creates the YARN
// application), writes outputs/, logs a metric and exits with $CODE. SLEEP_BEFORE and
// SLEEP make it wait before and after the session, for cancel tests.
const etlScript = `import os, sys, time
time.sleep(float(os.environ.get("SLEEP_BEFORE", "0")))
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("etl").getOrCreate()
print("driver python=%s uid=%d cwd=%s args=%s" % (sys.executable, os.getuid(), os.getcwd(), sys.argv[1:]), flush=True)
print("data:", open("data/in.txt").read().strip())
os.makedirs("outputs", exist_ok=True)
open("outputs/result.txt", "w").write("ok " + os.environ["FERRY_RUN_ID"] + "\n")
import ferry_run
ferry_run.log("rows", 42)
time.sleep(float(os.environ.get("SLEEP", "0")))
sys.exit(int(os.environ.get("CODE", "0")))
`

// hdiRunConfig is an Azure ML .runconfig for the hdinsight target: conda,
// client mode, and the template's spark.configuration.
const hdiRunConfig = `script: etl.py
arguments: [--input, c]
target: hdi
framework: PySpark
environmentVariables: {CODE: "4"}
environment:
  python:
    userManagedDependencies: false
    condaDependenciesFile: env.yml
hdi:
  yarnDeployMode: client
spark:
  configuration:
    spark.app.name: Azure ML Experiment
    spark.yarn.maxAppAttempts: 1
    spark.executor.memory: 2g
`

// userManaged is a runconfig's environment section for the interpreter as it is.
const userManaged = "environment:\n  python:\n    userManagedDependencies: true\n"

var appIDRE = regexp.MustCompile(`application_\d+_\d+`)

// TestHDInsight runs PySpark-style scripts on a head-node container whose
// spark-submit, yarn and hdfs are the fakespark TEST STAND-INS
// (internal/testutil/fakespark); SSH, the executor, conda (through the
// fakeconda stand-in) and packing are real. One container serves every
// case, in order.
func TestHDInsight(t *testing.T) {
	ct := testutil.StartContainerTarget(t, testutil.ContainerOptions{HDInsight: true})
	installFakeConda(t, ct)
	c := newCLI(t)
	c.attachContainer("hdi", ct, "--type", "hdinsight")
	src := sourceDir(t, testutil.Tree{
		"etl.py":                 etlScript,
		"data/in.txt":            "hello\n",
		"env.yml":                "name: etl\nchannels: [conda-forge]\ndependencies: [python=3.11]\n",
		".azureml/hdi.runconfig": hdiRunConfig,
		".azureml/bad.runconfig": "script: etl.py\ntarget: hdi\n" + userManaged + "hdi:\n  yarnDeployMode: yarn-cluster\n",
		".azureml/pkg.runconfig": "script: etl.py\ntarget: hdi\n" + userManaged + "  spark:\n    packages: [g:a]\n",
	})
	h := &hdiCase{t: t, c: c, ct: ct, src: src}
	t.Run("check", h.check)
	t.Run("cluster user-managed", h.clusterUserManaged)
	t.Run("cluster failing driver", h.clusterFailing)
	t.Run("cluster conda", h.clusterConda)
	t.Run("client conda runconfig", h.clientConda)
	t.Run("cancel cluster", h.cancelCluster)
	t.Run("cancel client before context", h.cancelClientEarly)
	t.Run("bad input", h.badInput)
}

type hdiCase struct {
	t   *testing.T
	c   *cli
	ct  *testutil.ContainerTarget
	src string
}

// installFakeConda makes the fakeconda stand-in the head node's micromamba.
func installFakeConda(t *testing.T, ct *testutil.ContainerTarget) {
	tool := filepath.Join(fakeconda.Dir(), "micromamba")
	if out, err := exec.Command("docker", "cp", tool, ct.Name+":/usr/local/bin/micromamba").CombinedOutput(); err != nil {
		t.Fatalf("docker cp: %v\n%s", err, out)
	}
	ct.ExecAs(t, "root", "chmod", "0755", "/usr/local/bin/micromamba")
}

// lastSubmit returns the argv of the stand-in's last spark-submit.
func (h *hdiCase) lastSubmit(t *testing.T) []string {
	lines := strings.Split(strings.TrimSpace(h.ct.Exec(t, "cat", "/var/lib/fakeyarn/submits.log")), "\n")
	var rec struct{ Argv []string }
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil {
		t.Fatalf("submits.log: %v", err)
	}
	return rec.Argv
}

func (h *hdiCase) submits(t *testing.T) int {
	return strings.Count(h.ct.Exec(t, "cat", "/var/lib/fakeyarn/submits.log"), "\n")
}

func (h *hdiCase) check(t *testing.T) {
	r := h.c.mustRun("", "compute", "check", "hdi", "--json")
	var rep struct {
		Facts struct {
			Spark struct {
				SparkSubmit  string `json:"spark_submit"`
				Version      string `json:"spark_version"`
				NodesRunning int    `json:"yarn_nodes_running"`
				DefaultFS    string `json:"default_fs"`
			} `json:"spark"`
		} `json:"facts"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatal(err)
	}
	s := rep.Facts.Spark
	if s.SparkSubmit != "/usr/local/bin/spark-submit" || s.Version != "3.3.1" || s.NodesRunning != 1 || s.DefaultFS != "hdfs://fakehdi-nn:8020" {
		t.Fatalf("check: %+v\n%s", s, r.Stdout)
	}
}

func (h *hdiCase) clusterUserManaged(t *testing.T) {
	args := []string{"run", "--compute", "hdi", "--python", "/usr/bin/python3", "etl.py", "--input", "a b"}
	dry := h.c.mustRun(h.src, append(args[:5:5], append([]string{"--dry-run", "--json"}, args[5:]...)...)...)
	var plan struct {
		ID    string `json:"id"`
		Spark struct {
			Submit []string `json:"submit"`
		} `json:"spark"`
	}
	if err := json.Unmarshal([]byte(dry.Stdout), &plan); err != nil || len(plan.Spark.Submit) == 0 {
		t.Fatalf("dry run: %v\n%s", err, dry.Stdout)
	}
	r := h.c.mustRun(h.src, args...)
	id := runIDOf(t, r.Stderr)
	// The stand-in ran exactly the argv the dry run showed.
	want := strings.Split(strings.ReplaceAll(strings.Join(plan.Spark.Submit, "\x00"), plan.ID, id), "\x00")
	if got := h.lastSubmit(t); !reflect.DeepEqual(got, want) {
		t.Errorf("spark-submit argv\n got %q\nwant %q", got, want)
	}
	for _, s := range []string{"driver python=/usr/bin/python3 uid=999 cwd=/var/lib/fakeyarn/apps/", "/ferry_snapshot args=['--input', 'a b']",
		"data: hello", "fakespark executor: python=/usr/bin/python3", "final status SUCCEEDED"} {
		if !strings.Contains(r.Stdout+r.Stderr, s) {
			t.Errorf("output lacks %q:\n%s\n%s", s, r.Stdout, r.Stderr)
		}
	}
	dir := t.TempDir()
	h.c.mustRun("", "download", id, "--to", dir)
	if data, err := os.ReadFile(filepath.Join(dir, "result.txt")); err != nil || string(data) != "ok "+id+"\n" {
		t.Errorf("outputs from the default file system: %q %v", data, err)
	}
	if m := h.c.show(id).Metrics; len(m) != 1 || m[0].Name != "rows" || m[0].Value != 42 {
		t.Errorf("metrics of a cluster-mode driver: %+v", m)
	}
}

func (h *hdiCase) clusterFailing(t *testing.T) {
	r := h.c.run(h.src, "run", "--compute", "hdi", "--env", "CODE=3", "etl.py")
	rec := h.c.show(runIDOf(t, r.Stderr))
	if r.Code != 3 || rec.Status != "Failed" || exitOf(rec) != 3 || !strings.Contains(r.Stdout+r.Stderr, "final status FAILED") {
		t.Fatalf("failing driver: code %d, %+v\n%s\n%s", r.Code, rec, r.Stdout, r.Stderr)
	}
	// spark.yarn.maxAppAttempts=1: the driver ran once, not twice.
	if n := strings.Count(r.Stdout, "driver python="); n != 1 {
		t.Fatalf("driver ran %d times:\n%s", n, r.Stdout)
	}
}

func (h *hdiCase) clusterConda(t *testing.T) {
	first := h.c.mustRun(h.src, "run", "--compute", "hdi", "--conda-file", "env.yml", "etl.py")
	out := first.Stdout + first.Stderr
	if !strings.Contains(out, "packing conda environment") || !strings.Contains(out, "/ferry_snapshot args=[]") ||
		!regexp.MustCompile(`driver python=\S+/container_\S+/environment/bin/python uid=999`).MatchString(out) ||
		!regexp.MustCompile(`fakespark executor: python=\S+/environment/bin/python`).MatchString(out) {
		t.Fatalf("conda cluster run:\n%s", out)
	}
	second := h.c.mustRun(h.src, "run", "--compute", "hdi", "--conda-file", "env.yml", "etl.py")
	if strings.Contains(second.Stdout+second.Stderr, "packing") || strings.Contains(second.Stdout+second.Stderr, "building conda") {
		t.Fatalf("second run packed or built again:\n%s", second.Stdout)
	}
}

func (h *hdiCase) clientConda(t *testing.T) {
	r := h.c.run(h.src, "run", "--runconfig", ".azureml/hdi.runconfig")
	id := runIDOf(t, r.Stderr)
	out := r.Stdout + r.Stderr
	// Client mode: the driver's exit code (YARN says SUCCEEDED regardless).
	if r.Code != 4 || h.c.show(id).Status != "Failed" {
		t.Fatalf("client run: code %d\n%s", r.Code, out)
	}
	if !regexp.MustCompile(`driver python=\S+/spark/ferry-env/bin/python uid=1000 cwd=\S+/runs/`+id+`/work args=\['--input', 'c'\]`).MatchString(out) ||
		strings.Contains(r.Stderr, "warning: runconfig") {
		t.Fatalf("client run:\n%s", out)
	}
	if got := h.lastSubmit(t); !strings.Contains(strings.Join(got, " "), "--deploy-mode client --conf spark.app.name="+id+" ") ||
		!strings.Contains(strings.Join(got, " "), "spark.executor.memory=2g") {
		t.Errorf("argv: %q", got)
	}
	app := appIDRE.FindString(out)
	logs := h.ct.Exec(t, "yarn", "logs", "-applicationId", app)
	if !regexp.MustCompile(`fakespark executor: python=\S+/environment/bin/python`).MatchString(logs) {
		t.Fatalf("executor did not run the packed environment's python:\n%s", logs)
	}
	dir := t.TempDir()
	h.c.mustRun("", "download", id, "--to", dir)
	if _, err := os.Stat(filepath.Join(dir, "result.txt")); err != nil {
		t.Errorf("client mode outputs/: %v", err)
	}
}

// await polls f until it holds (2 minutes at most).
func await(t *testing.T, what string, f func() bool) {
	t.Helper()
	awaitShowing(t, what, f, func() string { return "" })
}

// awaitShowing is await that adds show's text to a timeout's message.
func awaitShowing(t *testing.T, what string, f func() bool, show func() string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !f(); time.Sleep(300 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\n%s", what, show())
		}
	}
}

func (h *hdiCase) cancelCluster(t *testing.T) {
	r := h.c.mustRun(h.src, "run", "--compute", "hdi", "--detach", "--env", "SLEEP=120", "etl.py")
	id := runIDOf(t, r.Stderr)
	var app string
	await(t, "the application to run", func() bool {
		log := h.c.mustRun("", "logs", id).Stdout
		app = appIDRE.FindString(log)
		return strings.Contains(log, "(state: RUNNING)")
	})
	h.c.mustRun("", "cancel", id)
	await(t, "the run to end", func() bool { return h.c.show(id).Status == "Canceled" })
	// The tracker kills the application before the run ends; YARN
	// reports the kill once it has taken effect.
	status := func() string { return h.ct.Exec(t, "yarn", "application", "-status", app) }
	awaitShowing(t, "YARN to report "+app+" KILLED", func() bool {
		return strings.Contains(status(), "Final-State : KILLED")
	}, func() string { return status() + "\n" + h.diagnostics(id) })
	if log := h.c.mustRun("", "logs", id).Stdout; !strings.Contains(log, "ferry: killed YARN application "+app) {
		t.Errorf("the run's log does not say the application was killed:\n%s", log)
	}
}

// diagnostics is what a failed YARN wait shows: the run's log, whether the
// stand-in ResourceManager still runs, and the end of its log.
func (h *hdiCase) diagnostics(id string) string {
	ps, _ := h.ct.TryExecAs("root", "ps", "-eo", "pid,ppid,user,stat,etime,args")
	rm, _ := h.ct.TryExecAs("root", "tail", "-n", "40", "/var/log/fakeyarn.log")
	return "run log:\n" + h.c.run("", "logs", id).Stdout + "\nprocesses:\n" + ps + "\nfakeyarn.log:\n" + rm
}

func (h *hdiCase) cancelClientEarly(t *testing.T) {
	apps := h.ct.Exec(t, "ls", "/var/lib/fakeyarn/apps")
	r := h.c.mustRun(h.src, "run", "--runconfig", ".azureml/hdi.runconfig", "--detach", "--env", "SLEEP_BEFORE=120")
	id := runIDOf(t, r.Stderr)
	await(t, "the driver to start", func() bool {
		_, err := h.ct.TryExecAs("ferry", "pgrep", "-f", "runs/"+id+"/spark/etl.py")
		return err == nil
	})
	h.c.mustRun("", "cancel", id)
	await(t, "the run to end", func() bool { return h.c.show(id).Status == "Canceled" })
	if _, err := h.ct.TryExecAs("ferry", "pgrep", "-f", "runs/"+id+"/spark/etl.py"); err == nil {
		t.Errorf("the driver survived the cancel")
	}
	if now := h.ct.Exec(t, "ls", "/var/lib/fakeyarn/apps"); now != apps {
		t.Errorf("an application was made before the SparkContext: %q -> %q", apps, now)
	}
}

func (h *hdiCase) badInput(t *testing.T) {
	before := h.submits(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--runconfig", ".azureml/bad.runconfig"}, "bad.runconfig line 7: hdi.yarnDeployMode"},
		{[]string{"--runconfig", ".azureml/pkg.runconfig"}, `package "g:a"`},
		{[]string{"--compute", "hdi", "--docker-image", "python:3.11", "etl.py"}, "docker environments cannot run on an hdinsight target"},
	}
	for _, tt := range tests {
		r := h.c.run(h.src, append([]string{"run"}, tt.args...)...)
		if r.Code == 0 || !strings.Contains(r.Stderr, tt.want) || strings.Contains(r.Stderr, "ferry: run ") {
			t.Errorf("%v: code %d, stderr:\n%s", tt.args, r.Code, r.Stderr)
		}
	}
	if after := h.submits(t); after != before {
		t.Errorf("bad input reached spark-submit (%d -> %d submissions)", before, after)
	}
}
