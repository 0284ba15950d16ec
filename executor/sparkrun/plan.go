package sparkrun

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/ferry-ml/ferry/internal/fsutil"
)

// Plan is what the runner hands the tracker, as a JSON file in the run's
// submit directory.
type Plan struct {
	RunID string `json:"run_id"`
	// Mode is spark.ModeCluster or spark.ModeClient.
	Mode string `json:"mode"`
	// Argv is the spark-submit command line (argv[0] is looked up on PATH).
	Argv []string `json:"argv"`
	// Dir is spark-submit's working directory (the submit directory).
	Dir string `json:"dir"`
	// OutputsDFS is FERRY_OUTPUTS_DIR of a cluster-mode run: a path on the
	// cluster's default file system.
	OutputsDFS string `json:"outputs_dfs,omitempty"`
	// Outputs is the run's local outputs/ directory, where OutputsDFS is
	// copied when the run ends.
	Outputs string `json:"outputs"`
	// Metrics is the run's metrics file, where the metrics a cluster-mode
	// driver left on the default file system are appended.
	Metrics string `json:"metrics,omitempty"`
}

// WritePlan stores p at path (temp file + rename, 0600).
func WritePlan(path string, p Plan) error {
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode spark plan: %w", err)
	}
	return fsutil.WriteFileAtomic(path, data, 0o600)
}

// readPlan loads the plan at path.
func readPlan(path string) (Plan, error) {
	var p Plan
	data, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("read spark plan: %w", err)
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("decode spark plan: %w", err)
	}
	return p, nil
}
