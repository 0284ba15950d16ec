package runner

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/hashicorp/go-hclog"
)

// maxMetricLine caps one line of metrics.jsonl; longer lines are skipped.
const maxMetricLine = 64 << 10

// metricsRead is what readMetrics found.
type metricsRead struct {
	Metrics []api.Metric
	// TooLong are the 1-based numbers of the lines over maxMetricLine,
	// skipped; the run's log says so.
	TooLong []int
}

// readMetrics parses metrics.jsonl. Malformed lines (a torn last line, a NaN
// the helper wrote, a line without a name) are skipped and counted in the
// debug log, and so is a line over maxMetricLine (listed in TooLong): one
// bad line never costs the metrics after it. Metrics are best effort and
// never fail a run.
func readMetrics(path string, log hclog.Logger) metricsRead {
	var res metricsRead
	f, err := os.Open(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("read metrics", "error", err)
		}
		return res
	}
	defer f.Close()
	skipped := 0
	br := bufio.NewReaderSize(f, 64<<10)
	for n := 1; ; n++ {
		line, tooLong, err := readLine(br, maxMetricLine)
		if tooLong {
			res.TooLong = append(res.TooLong, n)
		} else if len(line) > 0 {
			var m api.Metric
			if jerr := json.Unmarshal(line, &m); jerr != nil || m.Name == "" {
				skipped++
			} else {
				m.Kind = m.KindOrScalar()
				res.Metrics = append(res.Metrics, m)
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				log.Warn("read metrics", "error", err)
			}
			break
		}
	}
	if skipped > 0 {
		log.Debug("skipped malformed metric lines", "count", skipped)
	}
	return res
}

// readLine returns the next line of br without its newline. A line longer
// than limit is read to its end and dropped (tooLong). err is io.EOF after
// the last line.
func readLine(br *bufio.Reader, limit int) (line []byte, tooLong bool, err error) {
	for {
		frag, isPrefix, rerr := br.ReadLine()
		if !tooLong {
			if len(line)+len(frag) > limit {
				tooLong, line = true, nil
			} else {
				line = append(line, frag...)
			}
		}
		if rerr != nil {
			return line, tooLong, rerr
		}
		if !isPrefix {
			return line, tooLong, nil
		}
	}
}

// tooLongNote is the run log's line about skipped metric lines.
func tooLongNote(lines []int) string {
	shown := lines
	if len(shown) > 5 {
		shown = shown[:5]
	}
	msg := fmt.Sprintf("skipped %d metrics line(s) over %d KiB (line %v of metrics.jsonl)", len(lines), maxMetricLine>>10, shown)
	if len(lines) > len(shown) {
		msg += fmt.Sprintf(" and %d more", len(lines)-len(shown))
	}
	return msg
}
