package runner

import "time"

// Environment variables every run receives.
const (
	envRunID       = "FERRY_RUN_ID"
	envExperiment  = "FERRY_EXPERIMENT"
	envOutputsDir  = "FERRY_OUTPUTS_DIR"
	envMetricsFile = "FERRY_METRICS_FILE"
)

// shimConfig is what the runner tells the shim, through shim.json in the run
// directory: everything needed to start and police the script.
type shimConfig struct {
	RunID       string        `json:"run_id"`
	Argv        []string      `json:"argv"` // argv[0] is an absolute path
	Env         []string      `json:"env"`
	Dir         string        `json:"dir"` // working directory
	MaxDuration time.Duration `json:"max_duration,omitempty"`
	KillGrace   time.Duration `json:"kill_grace"`
	// Marker ("K=V") names the variable that marks the processes to sweep
	// when the script ends; "" means FERRY_RUN_ID=RunID.
	Marker string `json:"marker,omitempty"`
	// Docker, when set, runs the script in a container instead of Argv.
	Docker *dockerLaunch `json:"docker,omitempty"`
}

// exitRecord is exit.json: the outcome the shim observed.
type exitRecord struct {
	ExitCode *int   `json:"exit_code"`        // nil: the script never started or never died
	Signal   string `json:"signal,omitempty"` // "SIGKILL" when the script was killed by a signal
	Canceled bool   `json:"canceled"`
	TimedOut bool   `json:"timed_out"`
	Reason   string `json:"reason,omitempty"`
	// KilledAfter is the grace period after which processes of the run
	// that outlived SIGTERM were sent SIGKILL ("" when none did).
	KilledAfter string `json:"killed_after,omitempty"`
	// OOMKilled is set when the kernel's OOM killer is known to have ended
	// a process of the run (Docker reports it for containers).
	OOMKilled bool `json:"oom_killed,omitempty"`
}
