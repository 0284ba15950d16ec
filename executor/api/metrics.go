package api

// Limits on a run's metrics. The executor keeps at most MaxMetrics metrics
// and MaxMetricsBytes of them (encoded as JSON lines) per run, skips any
// line of the metrics file over MaxMetricLine, and says in the run's log
// what it dropped; the script's own metrics file is left as it was.
const (
	MaxMetrics      = 1_000_000
	MaxMetricsBytes = 256 << 20
	MaxMetricLine   = 64 << 10
)

// MetricsSizeHeader is the response header of GET /v1/runs/{id}/metrics
// that gives the kept metrics file's whole size in bytes.
const MetricsSizeHeader = "X-Ferry-Metrics-Size"

// MetricsInfo sums up the metrics the executor kept for a run when it
// ended: the lines of its metrics file(s) that parsed, each normalised
// (Kind set, Rank set for a multi-process run), up to the limits above.
type MetricsInfo struct {
	// Count is the number of metrics kept.
	Count int64 `json:"count"`
	// Bytes is the size of the kept metrics as JSON lines.
	Bytes int64 `json:"bytes"`
	// Dropped counts the metrics past MaxMetrics or MaxMetricsBytes.
	Dropped int64 `json:"dropped,omitempty"`
	// TooLong counts the lines over MaxMetricLine, skipped.
	TooLong int64 `json:"too_long,omitempty"`
	// Malformed counts the lines that did not parse, skipped.
	Malformed int64 `json:"malformed,omitempty"`
}
