package history

import (
	"encoding/json"
	"maps"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/agent/gitinfo"
	"github.com/ferry-ml/ferry/executor/api"
)

// Record is everything the agent knows about one run. Its JSON form (the
// tags below, snake_case) is what "ferry runs --json" and "ferry show
// --json" print. Times are UTC and marshal as RFC 3339; ExitCode,
// StartedAt, EndedAt and Git are null until known.
type Record struct {
	ID          string            `json:"id"`
	Experiment  string            `json:"experiment"`
	Compute     string            `json:"compute"`
	Status      api.Status        `json:"status"`
	ExitCode    *int              `json:"exit_code"`
	Reason      string            `json:"reason,omitempty"`
	Script      string            `json:"script"`
	Args        []string          `json:"args"`
	Snapshot    string            `json:"snapshot"`
	Environment Environment       `json:"environment"`
	Env         map[string]string `json:"env,omitempty"` // masked in JSON; see RedactedEnv
	Git         *gitinfo.Info     `json:"git"`
	CreatedAt   time.Time         `json:"created_at"`
	StartedAt   *time.Time        `json:"started_at"`
	EndedAt     *time.Time        `json:"ended_at"`
	SourceDir   string            `json:"source_dir,omitempty"`  // local directory that was snapshotted
	OutputsDir  string            `json:"outputs_dir,omitempty"` // local directory the outputs were downloaded to
	Outputs     []api.OutputFile  `json:"outputs,omitempty"`
	// RerunOf is the run this one reran (ferry rerun), if any.
	RerunOf string `json:"rerun_of,omitempty"`
	// MaxSeconds is the run's time limit, 0 for none.
	MaxSeconds int64 `json:"max_duration_seconds,omitempty"`
	// EnvSpec is the environment exactly as the executor received it
	// (conda spec, Dockerfile text...), so that a rerun gets the same one
	// after the files changed. Not in the JSON output (it can be large);
	// nil for runs recorded before ferry kept it.
	EnvSpec *api.EnvironmentSpec `json:"-"`
}

// Environment describes the environment a run used, as resolved by the
// agent (what "ferry run --dry-run" shows).
type Environment struct {
	// Kind is "user-managed", "conda", "pip" or "docker".
	Kind string `json:"kind"`
	// Python is the interpreter of a user-managed environment, or the one
	// a pip environment's venv is made from.
	Python string `json:"python,omitempty"`
	// Key is the cache key: the hash of the normalised spec.
	Key string `json:"key,omitempty"`
	// Image is the docker base image (or the built image's tag).
	Image string `json:"image,omitempty"`
	// File is the spec file as given: a conda file, a requirements file
	// or a Dockerfile.
	File string `json:"file,omitempty"`
	// GPUs, ShmSize and DockerArgs are a docker run's --gpus, shm size
	// and extra docker run arguments, as resolved.
	GPUs       string   `json:"gpus,omitempty"`
	ShmSize    string   `json:"shm_size,omitempty"`
	DockerArgs []string `json:"docker_args,omitempty"`
}

// record has Record's fields without its methods, for MarshalJSON.
type record Record

// MarshalJSON writes the command-output form of r: nil Args become [] and secret-looking environment values are masked.
func (r Record) MarshalJSON() ([]byte, error) {
	out := record(r)
	if out.Args == nil {
		out.Args = []string{}
	}
	out.Env = r.RedactedEnv()
	return json.Marshal(out)
}

// Redacted replaces the values RedactedEnv masks.
const Redacted = "***"

// secretWords mark a variable as secret wherever they appear in its name.
var secretWords = []string{"TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "APIKEY", "PRIVATE"}

// secretParts mark a variable as secret when they are a whole
// "_"-separated part of its name (KEY matches API_KEY, not KEYBOARD).
var secretParts = []string{"KEY", "AUTH", "PAT", "SAS", "CONNECTION", "PASS"}

// RedactedEnv returns a copy of Env with the values of variables whose
// names look like secrets (HF_TOKEN, WANDB_API_KEY, DB_PASSWORD, ...)
// replaced by Redacted.
func (r Record) RedactedEnv() map[string]string {
	return RedactEnv(r.Env)
}

// RedactEnv returns a copy of env with the values of secret-looking names
// (SecretName) replaced by Redacted; nil stays nil.
func RedactEnv(env map[string]string) map[string]string {
	if env == nil {
		return nil
	}
	out := maps.Clone(env)
	for k := range out {
		if SecretName(k) {
			out[k] = Redacted
		}
	}
	return out
}

// SecretName reports whether an environment variable name looks like it
// holds a secret.
func SecretName(name string) bool {
	upper := strings.ToUpper(name)
	for _, w := range secretWords {
		if strings.Contains(upper, w) {
			return true
		}
	}
	for part := range strings.SplitSeq(upper, "_") {
		for _, p := range secretParts {
			if part == p {
				return true
			}
		}
	}
	return false
}
