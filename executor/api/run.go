package api

import (
	"strings"
	"time"
)

// Endpoints for runs.
//
//	POST /v1/runs                       RunSpec -> Run (201; 409 if the id exists)
//	GET  /v1/runs                       -> []Run
//	GET  /v1/runs/{id}                  -> Run
//	POST /v1/runs/{id}/cancel           -> Run
//	GET  /v1/runs/{id}/log?offset=N&follow=1[&rank=R]
//	     -> the log's raw bytes from offset N; with follow the response stays
//	        open, pushing bytes as they are written, and ends once the run has
//	        ended and every byte was sent. Header X-Ferry-Log-Offset echoes N.
//	GET  /v1/runs/{id}/metrics?offset=N
//	     -> the run's kept metrics (see MetricsInfo) as JSON lines, one Metric
//	        a line, from byte offset N (a line boundary a previous read ended
//	        on); 409 until the run has ended. Header X-Ferry-Metrics-Size is
//	        the file's whole size, so a reader knows when it has everything.
//	GET  /v1/runs/{id}/outputs          -> []OutputFile (files under outputs/)
//	GET  /v1/runs/{id}/files/{path}     -> raw bytes of a file in the run dir

// Status is a run's state. The words are Azure ML's.
//
//	Queued -> Preparing -> Running -> Completed | Failed | Canceled
//	   \__________\____________\______> Failed | Canceled
type Status string

// Run states.
const (
	StatusQueued    Status = "Queued"
	StatusPreparing Status = "Preparing"
	StatusRunning   Status = "Running"
	StatusCompleted Status = "Completed"
	StatusFailed    Status = "Failed"
	StatusCanceled  Status = "Canceled"
)

// Terminal reports whether s is a final state.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCanceled
}

// EnvironmentSpec says how to prepare the run's environment.
type EnvironmentSpec struct {
	Kind   string `json:"kind"`             // "user-managed", "conda", "pip" or "docker"
	Python string `json:"python,omitempty"` // interpreter for user-managed and pip (default "python3"); in a docker run without a conda spec, one in the image

	// Requirements is a pip environment's requirements file: its path in
	// the snapshot, "/"-separated. The executor reads it, the files it
	// names and the local packages from the run's materialised snapshot.
	Requirements string `json:"requirements,omitempty"`

	// CondaSpec is the conda environment file's content as the user wrote
	// it (kind "conda", or a docker image with conda baked in).
	CondaSpec []byte `json:"conda_spec,omitempty"`
	// CondaRequirements holds the pip -r/-c files the spec names, keyed as
	// conda.Spec.PipRequirements keys them (relative to the spec's folder).
	CondaRequirements map[string][]byte `json:"conda_requirements,omitempty"`
	// CondaDir is the conda spec's folder in the snapshot, "/"-separated
	// ("." for its root); "" when the spec file lies outside the source
	// directory. The pip section's local paths ("./wheels/x.whl", "-e .",
	// "--find-links ./wheels") are read from the run's snapshot there.
	CondaDir string `json:"conda_dir,omitempty"`
	// Key is the environment's cache key as the agent computed it
	// (conda.Spec.Key for conda); the executor recomputes and uses its own.
	Key string `json:"key,omitempty"`
	// CondaTool names the tool that builds conda prefixes ("micromamba",
	// "mamba", "conda" or a path); "" lets the executor choose.
	CondaTool string `json:"conda_tool,omitempty"`

	// DockerImage is the base image of a docker environment.
	DockerImage string `json:"docker_image,omitempty"`
	// Dockerfile is a docker environment's Dockerfile content, which wins
	// over DockerImage.
	Dockerfile string `json:"dockerfile,omitempty"`
	// GPUs is a docker run's --gpus value: "" (none), "all", a count or
	// "device=ID[,ID]".
	GPUs string `json:"gpus,omitempty"`
	// ShmSize is a docker run's shared memory size ("2g"); "" for default.
	ShmSize string `json:"shm_size,omitempty"`
	// DockerArgs are extra `docker run` arguments, as package runargs
	// reads them (a run configuration's docker.arguments, --docker-arg).
	DockerArgs []string `json:"docker_args,omitempty"`
}

// Environment kinds of EnvironmentSpec.Kind.
const (
	EnvUserManaged = "user-managed"
	EnvConda       = "conda"
	EnvDocker      = "docker"
	EnvPip         = "pip"
)

// RunSpec is what the agent submits.
type RunSpec struct {
	ID          string            `json:"id"` // chosen by the agent; unique
	Experiment  string            `json:"experiment"`
	Snapshot    string            `json:"snapshot"` // manifest id, already uploaded
	Script      string            `json:"script"`   // path relative to the snapshot root, "/"-separated
	Args        []string          `json:"args"`     // passed to the script untouched
	Env         map[string]string `json:"env,omitempty"`
	MaxDuration time.Duration     `json:"max_duration,omitempty"` // 0: no limit
	Environment EnvironmentSpec   `json:"environment"`
	// Spark, when set, makes the run one spark-submit to YARN (an
	// hdinsight target) instead of a local process.
	Spark *SparkSpec `json:"spark,omitempty"`
	// Slurm, when set, runs the script as one Slurm batch job (see
	// SlurmSpec); the executor must run on the cluster's login node.
	Slurm *SlurmSpec `json:"slurm,omitempty"`
}

// SparkSpec is what a PySpark run adds to its RunSpec: Azure ML's
// hdi.yarnDeployMode, spark.configuration and environment.spark.
type SparkSpec struct {
	// DeployMode is "cluster" (the default when empty) or "client".
	DeployMode string `json:"deploy_mode,omitempty"`
	// Conf is spark.configuration; each key overrides ferry's setting.
	Conf map[string]string `json:"conf,omitempty"`
	// Packages are Maven coordinates group:artifact:version.
	Packages []string `json:"packages,omitempty"`
	// Repositories are Maven repository URLs.
	Repositories []string `json:"repositories,omitempty"`
}

// Run is the executor's record of one run.
type Run struct {
	Spec      RunSpec    `json:"spec"`
	Status    Status     `json:"status"`
	ExitCode  *int       `json:"exit_code,omitempty"` // 128+signal when signalled
	Reason    string     `json:"reason,omitempty"`    // why it failed or was canceled
	Dir       string     `json:"dir"`                 // run directory on the target
	CreatedAt time.Time  `json:"created_at"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	LogSize   int64      `json:"log_size"`
	// Metrics sums up the metrics kept once the run ended (nil before);
	// the metrics themselves are read from GET /v1/runs/{id}/metrics, never
	// carried in the record, so that a run's record stays small.
	Metrics *MetricsInfo `json:"metrics_info,omitempty"`
	// Slurm is a slurm run's batch job: its id, state and reason.
	Slurm *SlurmJob `json:"slurm,omitempty"`
}

// Metric is one line of the run's metrics file: one JSON object per line,
// written by the Python helper (ferry_run, and the azureml.core shim).
// Kind says which of the value fields holds the value; readers skip kinds
// they do not know, so new kinds can be added without breaking old readers.
type Metric struct {
	Name string `json:"name"`
	// Kind is one of the Metric* kinds; "" is MetricScalar (lines written
	// before kinds existed).
	Kind string `json:"kind,omitempty"`
	// Value is a scalar's number (0 when the scalar is Text).
	Value float64 `json:"value"`
	// Text is a scalar logged as a string (run.log("optimizer", "adam")),
	// or a tag's value.
	Text string `json:"text,omitempty"`
	// Values is a list's values (numbers or strings), in order.
	Values []any `json:"values,omitempty"`
	// Row is one row of a table: column name to value. Rows of one name
	// make up a table.
	Row map[string]any `json:"row,omitempty"`
	// Table is a whole table: column name to its values.
	Table map[string][]any `json:"table,omitempty"`
	// Path is an image's file, relative to the run's outputs/ directory.
	Path        string   `json:"path,omitempty"`
	Description string   `json:"description,omitempty"`
	Step        *int64   `json:"step,omitempty"`
	Time        *float64 `json:"time,omitempty"` // unix seconds, when the helper recorded it
	// Rank is the process that recorded it, in a multi-process run.
	Rank *int `json:"rank,omitempty"`
}

// Metric kinds (Metric.Kind), as Azure ML's Run logs them.
const (
	// MetricScalar is one value of a series (run.log): Value or Text.
	MetricScalar = "scalar"
	// MetricList is a list of values logged at once (run.log_list): Values.
	MetricList = "list"
	// MetricRow is one row of a table (run.log_row): Row.
	MetricRow = "row"
	// MetricTable is a table logged at once (run.log_table): Table.
	MetricTable = "table"
	// MetricImage is an image saved under outputs/ (run.log_image): Path.
	MetricImage = "image"
	// MetricTag is a run tag (run.tag, run.set_tags): Text. It is not a
	// metric; it travels in the same stream so that every process of a
	// run can set one.
	MetricTag = "tag"
)

// KindOrScalar is m.Kind, with "" read as MetricScalar.
func (m Metric) KindOrScalar() string {
	if m.Kind == "" {
		return MetricScalar
	}
	return m.Kind
}

// OutputFile describes one file under the run's outputs/ directory.
type OutputFile struct {
	Path string `json:"path"` // relative to outputs/, "/"-separated
	Mode uint32 `json:"mode"` // permission bits
	Size int64  `json:"size"`
	Hash string `json:"hash"` // SHA-256, hex
	Link string `json:"link,omitempty"`
}

// Statuses lists every run state, in lifecycle order.
var Statuses = []Status{StatusQueued, StatusPreparing, StatusRunning, StatusCompleted, StatusFailed, StatusCanceled}

// ParseStatus returns the status named s, ignoring case ("completed" is
// Completed); ok is false when s names none.
func ParseStatus(s string) (st Status, ok bool) {
	for _, st := range Statuses {
		if strings.EqualFold(s, string(st)) {
			return st, true
		}
	}
	return "", false
}
