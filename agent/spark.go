package agent

import (
	"errors"
	"fmt"
	"os/user"
	"path"

	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/spark"
)

// SparkChoice is what a run asks of Spark (Azure ML's hdi.yarnDeployMode,
// spark.configuration and environment.spark), before it is checked.
type SparkChoice struct {
	DeployMode string
	// DeployModeFrom names where DeployMode was written ("hdi.runconfig
	// line 12"), for the error a bad value gets.
	DeployModeFrom string
	Conf           map[string]string
	Packages       []string
	Repositories   []string
}

// SparkPlan is how a run on an hdinsight target is submitted: the part of
// the plan (and of --dry-run --json) that shows the spark-submit command.
type SparkPlan struct {
	DeployMode string `json:"deploy_mode"`
	// Submit is the exact spark-submit argv, run in the run's submit
	// directory on the head node (see package spark).
	Submit []string `json:"submit"`
	// Env is what ferry sets in spark-submit's environment on top of the
	// executor's; Unset is what it removes from it.
	Env   map[string]string `json:"env"`
	Unset []string          `json:"unset"`
	// Spec is what the executor receives.
	Spec api.SparkSpec `json:"-"`
}

// PlanSpark checks a run for an hdinsight target and returns how it is
// submitted. Its errors are *InvalidError: nothing is uploaded first.
func PlanSpark(p Plan, t compute.Target, ch SparkChoice) (*SparkPlan, error) {
	if p.Spec.Kind == api.EnvDocker {
		return nil, &InvalidError{errors.New("docker environments cannot run on an hdinsight target (Azure ML refused them too): use a conda environment or a user-managed interpreter")}
	}
	if err := spark.CheckDeployMode(ch.DeployMode); err != nil {
		if ch.DeployModeFrom != "" {
			err = fmt.Errorf("%s: %w", ch.DeployModeFrom, err)
		}
		return nil, &InvalidError{err}
	}
	job := SparkJob(p, t, ch)
	if err := job.Validate(); err != nil {
		return nil, &InvalidError{err}
	}
	return &SparkPlan{
		DeployMode: job.Mode(), Submit: job.Argv(), Env: sparkSubmitEnv(p, t, job),
		Unset: []string{"PYSPARK_DRIVER_PYTHON", "PYSPARK_PYTHON"},
		Spec: api.SparkSpec{DeployMode: job.Mode(), Conf: ch.Conf, Packages: ch.Packages,
			Repositories: ch.Repositories},
	}, nil
}

// SparkJob is the job the executor will build from the plan's run spec:
// the same inputs give the same argv.
func SparkJob(p Plan, t compute.Target, ch SparkChoice) spark.Job {
	job := spark.Job{
		RunID: p.ID, Experiment: p.Experiment, Script: p.Script, Args: p.Arguments,
		DeployMode: ch.DeployMode, Conf: ch.Conf, Packages: ch.Packages, Repositories: ch.Repositories,
		Env: p.Env, Conda: p.Spec.Kind == api.EnvConda, OutputsDir: spark.OutputsPath(sshUser(t), p.ID),
	}
	if job.DeployMode == "" {
		job.DeployMode = spark.ModeCluster
	}
	if !job.Conda {
		job.Python = p.Spec.Python
		if job.Python == "" {
			job.Python = "python3"
		}
	}
	return job
}

// sparkSubmitEnv is what the executor adds to spark-submit's environment:
// the user's variables and ferry's (a client-mode driver is its child).
func sparkSubmitEnv(p Plan, t compute.Target, job spark.Job) map[string]string {
	env := map[string]string{}
	for k, v := range p.Env {
		env[k] = v
	}
	runDir := path.Join(orDefault(t.StateDir, compute.DefaultStateDir), "runs", p.ID)
	env[spark.EnvRunID], env[spark.EnvExperiment] = p.ID, p.Experiment
	env[spark.EnvOutputsDir] = path.Join(runDir, "work", "outputs")
	if job.Mode() == spark.ModeCluster {
		env[spark.EnvOutputsDir] = job.OutputsDir
	}
	env["FERRY_METRICS_FILE"] = path.Join(runDir, "metrics.jsonl")
	env["PYTHONUNBUFFERED"] = "1"
	return env
}

// sshUser is the user ferry logs in as: the target's, else ssh's default.
func sshUser(t compute.Target) string {
	if t.User != "" {
		return t.User
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "root"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
