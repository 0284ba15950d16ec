package history

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ferry-ml/ferry/agent/gitinfo"
	"github.com/ferry-ml/ferry/executor/api"
)

// columns are the runs columns in the order scanRecord reads them.
const columns = `id, experiment, compute, status, exit_code, reason,
	created_at, started_at, ended_at, spec, outputs_dir, outputs`

// spec is the part of a Record stored as JSON in the spec column: fields
// that are read whole and never filtered on.
type spec struct {
	Script      string               `json:"script"`
	Args        []string             `json:"args,omitempty"`
	Snapshot    string               `json:"snapshot"`
	Environment Environment          `json:"environment"`
	Env         map[string]string    `json:"env,omitempty"` // as given, not redacted
	Git         *gitinfo.Info        `json:"git,omitempty"`
	SourceDir   string               `json:"source_dir,omitempty"`
	RerunOf     string               `json:"rerun_of,omitempty"`
	MaxSeconds  int64                `json:"max_duration_seconds,omitempty"`
	EnvSpec     *api.EnvironmentSpec `json:"env_spec,omitempty"`
}

// row is a Record in column form.
type row struct {
	id, experiment, compute, status, reason string
	exitCode                                sql.NullInt64
	createdAt                               int64
	startedAt, endedAt                      sql.NullInt64
	spec, outputsDir, outputs               string
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// scanRecord reads one row selected with columns.
func scanRecord(sc scanner) (Record, error) {
	var w row
	err := sc.Scan(&w.id, &w.experiment, &w.compute, &w.status, &w.exitCode, &w.reason,
		&w.createdAt, &w.startedAt, &w.endedAt, &w.spec, &w.outputsDir, &w.outputs)
	if err != nil {
		return Record{}, err
	}
	return w.record()
}

// record decodes w.
func (w row) record() (Record, error) {
	r := Record{
		ID: w.id, Experiment: w.experiment, Compute: w.compute,
		Status: api.Status(w.status), Reason: w.reason, OutputsDir: w.outputsDir,
		ExitCode: intPtr(w.exitCode), CreatedAt: fromNanos(w.createdAt),
		StartedAt: timePtr(w.startedAt), EndedAt: timePtr(w.endedAt),
	}
	var sp spec
	if err := json.Unmarshal([]byte(w.spec), &sp); err != nil {
		return Record{}, fmt.Errorf("decode run %s: %w", w.id, err)
	}
	r.Script, r.Args, r.Snapshot, r.Environment = sp.Script, sp.Args, sp.Snapshot, sp.Environment
	r.Env, r.Git, r.SourceDir = sp.Env, sp.Git, sp.SourceDir
	r.RerunOf, r.MaxSeconds, r.EnvSpec = sp.RerunOf, sp.MaxSeconds, sp.EnvSpec
	if err := json.Unmarshal([]byte(w.outputs), &r.Outputs); err != nil {
		return Record{}, fmt.Errorf("decode outputs of run %s: %w", w.id, err)
	}
	return r, nil
}

// args returns r's column values in the order of columns.
func args(r Record) ([]any, error) {
	sp, err := json.Marshal(spec{
		Script: r.Script, Args: r.Args, Snapshot: r.Snapshot, Environment: r.Environment,
		Env: r.Env, Git: r.Git, SourceDir: r.SourceDir,
		RerunOf: r.RerunOf, MaxSeconds: r.MaxSeconds, EnvSpec: r.EnvSpec,
	})
	if err != nil {
		return nil, fmt.Errorf("encode run %s: %w", r.ID, err)
	}
	outputs, err := jsonList(r.Outputs)
	if err != nil {
		return nil, fmt.Errorf("encode outputs of run %s: %w", r.ID, err)
	}
	return []any{r.ID, r.Experiment, r.Compute, string(r.Status), nullInt(r.ExitCode), r.Reason,
		r.CreatedAt.UnixNano(), nullTime(r.StartedAt), nullTime(r.EndedAt),
		string(sp), r.OutputsDir, outputs}, nil
}

// jsonList encodes a slice, nil as "[]".
func jsonList[T any](v []T) (string, error) {
	if v == nil {
		return "[]", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func fromNanos(n int64) time.Time {
	return time.Unix(0, n).UTC()
}

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

func intPtr(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	i := int(n.Int64)
	return &i
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixNano()
}

func nullInt(i *int) any {
	if i == nil {
		return nil
	}
	return int64(*i)
}
