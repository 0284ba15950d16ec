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
	"github.com/ferry-ml/ferry/executor/slurm"
	"github.com/ferry-ml/ferry/internal/fsutil"
	"github.com/hashicorp/go-hclog"
)

// metricsLimits bound what keepMetrics keeps; defaultLimits are
// api.MaxMetrics and api.MaxMetricsBytes.
type metricsLimits struct {
	Count, Bytes int64
}

var defaultLimits = metricsLimits{Count: api.MaxMetrics, Bytes: api.MaxMetricsBytes}

// metricsSource is one metrics file a run's processes wrote: the run's
// own, or one rank's (Rank set) in a multi-process run.
type metricsSource struct {
	Path string
	Rank *int
}

// keepMetrics reads the metrics files in srcs, in order, one line at a
// time, and writes the metrics that parse, normalised (Kind and Rank set),
// as JSON lines to dst (whole or not at all), up to lim. Memory stays bounded whatever the files hold.
// Malformed lines (a torn last line, a NaN the helper wrote, a line
// without a name) and lines over api.MaxMetricLine are skipped and counted:
// one bad line never costs the metrics after it. Metrics are best effort
// and never fail a run; an error means dst was not written. notes are the
// lines for the run's log about what was left out.
func keepMetrics(srcs []metricsSource, dst string, lim metricsLimits, log hclog.Logger) (info api.MetricsInfo, notes []string, err error) {
	k := keeper{lim: lim}
	err = fsutil.WriteAtomic(dst, 0o600, func(w io.Writer) error {
		k.w = bufio.NewWriterSize(w, 64<<10)
		for _, src := range srcs {
			if err := k.readFile(src, log); err != nil {
				return err
			}
		}
		return k.w.Flush()
	})
	if err != nil {
		return api.MetricsInfo{}, nil, fmt.Errorf("keep metrics: %w", err)
	}
	if k.info.Malformed > 0 {
		log.Debug("skipped malformed metric lines", "count", k.info.Malformed)
	}
	return k.info, k.notes(), nil
}

// keeper is the state of one keepMetrics.
type keeper struct {
	w       *bufio.Writer
	lim     metricsLimits
	info    api.MetricsInfo
	tooLong []int // line numbers, of the first file that had any
}

// readFile keeps the metrics of one source; a missing file has none.
func (k *keeper) readFile(src metricsSource, log hclog.Logger) error {
	f, err := os.Open(src.Path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("read metrics", "error", err)
		}
		return nil
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	for n := 1; ; n++ {
		line, tooLong, err := readLine(br, api.MaxMetricLine)
		switch {
		case tooLong:
			k.info.TooLong++
			if len(k.tooLong) < 5 {
				k.tooLong = append(k.tooLong, n)
			}
		case len(line) > 0:
			if werr := k.add(line, src.Rank); werr != nil {
				return werr
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				log.Warn("read metrics", "error", err)
			}
			return nil
		}
	}
}

// add keeps one line, unless it is malformed or a limit was reached.
func (k *keeper) add(line []byte, rank *int) error {
	var m api.Metric
	if err := json.Unmarshal(line, &m); err != nil || m.Name == "" {
		k.info.Malformed++
		return nil
	}
	m.Kind = m.KindOrScalar()
	if rank != nil {
		r := *rank
		m.Rank = &r
	}
	out, err := json.Marshal(m)
	if err != nil { // cannot happen: m came from JSON
		k.info.Malformed++
		return nil
	}
	if k.info.Count >= k.lim.Count || k.info.Bytes+int64(len(out))+1 > k.lim.Bytes {
		k.info.Dropped++
		return nil
	}
	k.info.Count++
	k.info.Bytes += int64(len(out)) + 1
	if _, err := k.w.Write(out); err != nil {
		return err
	}
	return k.w.WriteByte('\n')
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

// notes are the run log's lines about what keepMetrics left out.
func (k *keeper) notes() []string {
	var out []string
	if k.info.TooLong > 0 {
		msg := fmt.Sprintf("skipped %d metrics line(s) over %d KiB (line %v of metrics.jsonl)",
			k.info.TooLong, api.MaxMetricLine>>10, k.tooLong)
		if k.info.TooLong > int64(len(k.tooLong)) {
			msg += fmt.Sprintf(" and %d more", k.info.TooLong-int64(len(k.tooLong)))
		}
		out = append(out, msg)
	}
	if k.info.Dropped > 0 {
		out = append(out, fmt.Sprintf("metrics limit reached: kept the first %d metrics (%d bytes), dropped %d more "+
			"(limit: %d metrics or %d MiB per run; the script's metrics.jsonl on the target keeps them all)",
			k.info.Count, k.info.Bytes, k.info.Dropped, k.lim.Count, k.lim.Bytes>>20))
	}
	return out
}

// metricsSources are the metrics files of st: the run's own, or every
// rank's (Rank set) for a slurm run.
func metricsSources(st *runState) []metricsSource {
	if st.spec.Slurm == nil {
		return []metricsSource{{Path: st.paths.metrics()}}
	}
	var srcs []metricsSource
	for n := 0; n < st.spec.Slurm.Processes(); n++ {
		rank := n
		srcs = append(srcs, metricsSource{Path: slurm.RankMetrics(st.paths.dir(), n), Rank: &rank})
	}
	return srcs
}
