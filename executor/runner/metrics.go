package runner

import (
	"bufio"
	"encoding/json"
	"errors"
	"io/fs"
	"os"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/hashicorp/go-hclog"
)

// maxMetricLine caps one line of metrics.jsonl; longer lines are skipped.
const maxMetricLine = 64 << 10

// readMetrics parses metrics.jsonl. Malformed lines (a torn last line, a NaN
// the helper wrote, a line without a name) are skipped and counted in the
// debug log: metrics are best effort and never fail a run.
func readMetrics(path string, log hclog.Logger) []api.Metric {
	f, err := os.Open(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("read metrics", "error", err)
		}
		return nil
	}
	defer f.Close()
	var out []api.Metric
	skipped := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), maxMetricLine)
	for sc.Scan() {
		var m api.Metric
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil || m.Name == "" {
			skipped++
			continue
		}
		m.Kind = m.KindOrScalar()
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		log.Warn("read metrics", "error", err)
	}
	if skipped > 0 {
		log.Debug("skipped malformed metric lines", "count", skipped)
	}
	return out
}
