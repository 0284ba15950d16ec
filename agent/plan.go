package agent

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ferry-ml/ferry/agent/gitinfo"
	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/snapshot"
	"github.com/hashicorp/go-hclog"
)

// Plan is what a run will do, resolved and checked before anything is
// uploaded. Its JSON form is what "ferry run --dry-run --json" prints.
type Plan struct {
	ID          string              `json:"id"`
	Compute     string              `json:"compute"`
	Experiment  string              `json:"experiment"`
	Source      string              `json:"source"`
	Script      string              `json:"script"`
	Arguments   []string            `json:"arguments"`
	Environment history.Environment `json:"environment"`
	Env         map[string]string   `json:"environment_variables"`
	MaxDuration string              `json:"max_duration,omitempty"`
	MaxSeconds  int64               `json:"max_duration_seconds,omitempty"`
	// EnvSpec is the normalised conda spec the key hashes.
	EnvSpec  string   `json:"environment_spec,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// Spark is how a run on an hdinsight target is submitted (PlanSpark).
	Spark *SparkPlan `json:"spark,omitempty"`
	// Slurm is a slurm run's placement and distributed launch.
	Slurm *api.SlurmSpec `json:"slurm,omitempty"`

	// RerunOf is the run this plan reruns (ferry rerun), if any.
	RerunOf string `json:"rerun_of,omitempty"`

	// Git is the source's git state to record; nil: captured from Source
	// when the run is recorded (a rerun keeps its original's).
	Git *gitinfo.Info `json:"-"`
	// Blobs, when set, is where the snapshot's content comes from instead
	// of the files under Source (a rerun, after the source changed).
	Blobs *BlobSources `json:"-"`
	// Spec is what the executor receives as the environment.
	Spec api.EnvironmentSpec `json:"-"`
	// EnvWarnings are the warnings about the environment, not yet shown
	// (also in Warnings).
	EnvWarnings []string `json:"-"`
}

type plan Plan

// MarshalJSON writes the plan as "ferry run --dry-run --json" prints it:
// secret-looking environment values are masked, as in text mode and in
// the history's records.
func (p Plan) MarshalJSON() ([]byte, error) {
	out := plan(p)
	out.Env = history.RedactEnv(p.Env)
	return json.Marshal(out)
}

// RunSpec is what the executor receives to start the plan's run on
// snapshot (a manifest id).
func (p Plan) RunSpec(snapshotID string) api.RunSpec {
	spec := api.RunSpec{
		ID: p.ID, Experiment: p.Experiment, Snapshot: snapshotID,
		Script: p.Script, Args: p.Arguments, Env: p.Env,
		Environment: p.Spec,
	}
	if spec.Environment.Kind == "" {
		spec.Environment = api.EnvironmentSpec{Kind: p.Environment.Kind, Python: p.Environment.Python}
	}
	if p.Spark != nil {
		s := p.Spark.Spec
		spec.Spark = &s
	}
	if p.Slurm != nil {
		s := *p.Slurm
		spec.Slurm = &s
	}
	if p.MaxSeconds > 0 {
		spec.MaxDuration = time.Duration(p.MaxSeconds) * time.Second
	}
	return spec
}

// NewRecord is the history record of the plan's run, Queued, on snapshot
// m, with the source's git information when it is a repository.
func NewRecord(ctx context.Context, p Plan, m *snapshot.Manifest, logger hclog.Logger) history.Record {
	info := p.Git
	if info == nil {
		var err error
		if info, err = gitinfo.Capture(ctx, p.Source, logger); err != nil {
			logger.Debug("no git info", "error", err)
		}
	}
	env := p.RunSpec("").Environment
	return history.Record{
		ID: p.ID, Experiment: p.Experiment, Compute: p.Compute, Status: api.StatusQueued,
		Script: p.Script, Args: p.Arguments, Snapshot: m.ID().String(),
		Environment: p.Environment, Env: p.Env, Git: info,
		CreatedAt: time.Now().UTC(), SourceDir: p.Source,
		RerunOf: p.RerunOf, MaxSeconds: p.MaxSeconds, EnvSpec: &env,
	}
}
