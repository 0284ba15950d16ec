package spark

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
)

// Deploy modes of hdi.yarnDeployMode and spark-submit --deploy-mode.
const (
	ModeCluster = "cluster"
	ModeClient  = "client"
)

// Names inside the submit directory (see the package documentation).
const (
	SnapshotArchive = "ferry-snapshot.tgz"
	SnapshotAlias   = "ferry_snapshot"
	EnvArchive      = "ferry-env.tar.gz"
	EnvAlias        = "environment"
	EnvLink         = "ferry-env"
	HelperFile      = "ferry_run.py"
)

// ExecutorPython is the interpreter of a packed conda environment inside a
// YARN container: the archive unpacked under its alias.
const ExecutorPython = "./" + EnvAlias + "/bin/python"

// Environment variables ferry sets in every run.
const (
	EnvRunID      = "FERRY_RUN_ID"
	EnvExperiment = "FERRY_EXPERIMENT"
	EnvOutputsDir = "FERRY_OUTPUTS_DIR"
)

// Defaults are the settings ferry adds, as Azure ML did; the user's
// spark.configuration overrides them. spark.app.name is the run id.
var Defaults = map[string]string{"spark.yarn.maxAppAttempts": "1"}

// ErrDeployMode is returned for a deploy mode other than cluster or client.
var ErrDeployMode = errors.New(`yarnDeployMode must be "cluster" or "client"`)

// Job is everything one spark-submit depends on.
type Job struct {
	RunID      string
	Experiment string
	// Script is the script's path inside the snapshot, "/"-separated.
	Script string
	Args   []string
	// DeployMode is ModeCluster (the default when empty) or ModeClient.
	DeployMode string
	// Conf is the user's spark.configuration; it wins over every setting
	// ferry makes.
	Conf map[string]string
	// Packages are Maven coordinates group:artifact:version; Repositories
	// are URLs.
	Packages     []string
	Repositories []string
	// Python is a user-managed interpreter, used by the driver and the
	// executors (it must exist on every node). Ignored when Conda is set.
	Python string
	// Conda ships the packed environment (EnvArchive) to the containers.
	Conda bool
	// Env holds the user's environment variables.
	Env map[string]string
	// OutputsDir is FERRY_OUTPUTS_DIR in cluster mode: a path on the
	// cluster's default file system.
	OutputsDir string
}

// Mode returns the job's deploy mode, cluster when unset.
func (j Job) Mode() string {
	if j.DeployMode == "" {
		return ModeCluster
	}
	return j.DeployMode
}

// Validate checks the job's deploy mode and package coordinates.
func (j Job) Validate() error {
	if err := CheckDeployMode(j.DeployMode); err != nil {
		return err
	}
	for _, p := range j.Packages {
		if err := CheckCoordinate(p); err != nil {
			return err
		}
	}
	if path.Base(j.Script) == HelperFile || !strings.HasSuffix(j.Script, ".py") {
		return fmt.Errorf("script %s: a PySpark run needs a .py script other than %s", j.Script, HelperFile)
	}
	return nil
}

// CheckDeployMode accepts "", "cluster" and "client".
func CheckDeployMode(mode string) error {
	switch mode {
	case "", ModeCluster, ModeClient:
		return nil
	}
	return fmt.Errorf("%w, got %q", ErrDeployMode, mode)
}

// CheckCoordinate applies spark-submit's rule to one --packages item: with
// "/" read as ":", exactly three non-blank parts (no classifier).
func CheckCoordinate(p string) error {
	parts := strings.Split(strings.ReplaceAll(p, "/", ":"), ":")
	ok := len(parts) == 3
	for _, s := range parts {
		ok = ok && strings.TrimSpace(s) != ""
	}
	if !ok {
		return fmt.Errorf("package %q: Spark packages are Maven coordinates group:artifact:version", p)
	}
	return nil
}

// Primary is the entry point's file name: the script's base name, so that
// the command reads "… etl.py ARGS".
func (j Job) Primary() string { return path.Base(j.Script) }

// Argv returns the spark-submit command line, program name first.
func (j Job) Argv() []string {
	argv := []string{"spark-submit", "--master", "yarn", "--deploy-mode", j.Mode()}
	conf := j.conf()
	keys := make([]string, 0, len(conf))
	for k := range conf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		argv = append(argv, "--conf", k+"="+conf[k])
	}
	if len(j.Packages) > 0 {
		argv = append(argv, "--packages", strings.Join(j.Packages, ","))
	}
	if len(j.Repositories) > 0 {
		argv = append(argv, "--repositories", strings.Join(j.Repositories, ","))
	}
	archives := SnapshotArchive + "#" + SnapshotAlias
	if j.Conda {
		archives += "," + EnvArchive + "#" + EnvAlias
	}
	argv = append(argv, "--archives", archives, "--py-files", HelperFile, j.Primary())
	return append(argv, j.Args...)
}

// conf merges ferry's settings and the user's (which win).
func (j Job) conf() map[string]string {
	conf := map[string]string{"spark.app.name": j.RunID}
	for k, v := range Defaults {
		conf[k] = v
	}
	switch {
	case j.Conda:
		conf["spark.pyspark.python"] = ExecutorPython
		if j.Mode() == ModeClient {
			conf["spark.pyspark.driver.python"] = "./" + EnvLink + "/bin/python"
		}
	case j.Python != "":
		conf["spark.pyspark.python"] = j.Python
	}
	for k, v := range j.containerEnv() {
		if j.Mode() == ModeCluster {
			conf["spark.yarn.appMasterEnv."+k] = v
		}
		conf["spark.executorEnv."+k] = v
	}
	for k, v := range j.Conf {
		conf[k] = v
	}
	return conf
}

// containerEnv is the environment ferry gives YARN containers: the user's
// variables and ferry's own. In client mode the driver is spark-submit's
// child and gets its variables from the process environment instead.
func (j Job) containerEnv() map[string]string {
	env := make(map[string]string, len(j.Env)+3)
	for k, v := range j.Env {
		env[k] = v
	}
	env[EnvRunID], env[EnvExperiment] = j.RunID, j.Experiment
	if j.Mode() == ModeCluster && j.OutputsDir != "" {
		env[EnvOutputsDir] = j.OutputsDir
	}
	env["PYTHONUNBUFFERED"] = "1"
	return env
}

// MetricsPath is where a cluster-mode driver leaves its metrics, beside
// outputsDir (see EntryPoint).
func MetricsPath(outputsDir string) string {
	return path.Join(path.Dir(outputsDir), "metrics.jsonl")
}

// OutputsPath is FERRY_OUTPUTS_DIR of a cluster-mode run of user: a path on
// the cluster's default file system, under the user's home there (never on
// the head node's disk).
func OutputsPath(user, runID string) string {
	return "/user/" + user + "/.ferry/runs/" + runID + "/outputs"
}
