package history

import (
	"bufio"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/fsutil"
)

// Each finished run's metrics are kept beside the database, as the
// executor kept them (JSON lines, one api.Metric each) gzip-compressed, in
// metrics/<run id>.jsonl.gz (0600 in a 0700 folder), never in the database:
// a run's metrics can be large (api.MaxMetrics), and a row that size would
// be read whole by every query that touches it. They are written once,
// streaming, after the run has ended, and read streaming (EachMetric).
// Runs recorded by an older ferry have theirs in the runs.metrics column,
// which EachMetric falls back to.

// maxStoredLine bounds one stored line: the executor's MaxMetricLine, with
// room for the fields it adds when it normalises a line.
const maxStoredLine = api.MaxMetricLine + 4<<10

// ErrTooManyMetrics is returned by PutMetrics when the stream is larger
// than any executor keeps (api.MaxMetricsBytes).
var ErrTooManyMetrics = errors.New("metrics exceed the limit")

// PutMetrics stores the metrics of run id, read from r (JSON lines),
// replacing any earlier copy; the file appears whole or not at all. More
// than api.MaxMetricsBytes is refused (ErrTooManyMetrics) and nothing is
// stored.
func (s *Store) PutMetrics(id string, r io.Reader) error {
	if err := validFileID(id); err != nil {
		return err
	}
	if err := fsutil.MkdirPrivate(s.metricsDir()); err != nil {
		return fmt.Errorf("store metrics of run %s: %w", id, err)
	}
	err := fsutil.WriteAtomic(s.metricsPath(id), 0o600, func(w io.Writer) error {
		zw := gzip.NewWriter(w)
		n, err := io.Copy(zw, io.LimitReader(r, api.MaxMetricsBytes+1))
		if err != nil {
			return err
		}
		if n > api.MaxMetricsBytes {
			return fmt.Errorf("%w: more than %d MiB", ErrTooManyMetrics, api.MaxMetricsBytes>>20)
		}
		return zw.Close()
	})
	if err != nil {
		return fmt.Errorf("store metrics of run %s: %w", id, err)
	}
	return nil
}

// EachMetric calls fn with each metric of run id, in the order they were
// logged, reading them one at a time; an error from fn stops it and is
// returned. A run with no stored metrics has none (no error). Lines that
// do not decode are skipped.
func (s *Store) EachMetric(ctx context.Context, id string, fn func(api.Metric) error) error {
	if err := validFileID(id); err != nil {
		return err
	}
	f, err := os.Open(s.metricsPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return s.eachLegacyMetric(ctx, id, fn)
	}
	if err != nil {
		return fmt.Errorf("open metrics of run %s: %w", id, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("open metrics of run %s: %w", id, err)
	}
	defer zr.Close()
	if err := eachLine(bufio.NewReaderSize(zr, maxStoredLine), fn); err != nil {
		return fmt.Errorf("read metrics of run %s: %w", id, err)
	}
	return nil
}

// eachLine decodes the JSON lines of br; see EachMetric.
func eachLine(br *bufio.Reader, fn func(api.Metric) error) error {
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if err := skipLine(br); err != nil {
				return ignoreEOF(err)
			}
			continue
		}
		var m api.Metric
		if len(line) > 0 && json.Unmarshal(line, &m) == nil && m.Name != "" {
			if ferr := fn(m); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return ignoreEOF(err)
		}
	}
}

// skipLine reads br past the end of the current line.
func skipLine(br *bufio.Reader) error {
	for {
		_, err := br.ReadSlice('\n')
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
}

func ignoreEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// eachLegacyMetric reads the metrics an older ferry stored in the runs
// table, decoding one at a time.
func (s *Store) eachLegacyMetric(ctx context.Context, id string, fn func(api.Metric) error) error {
	var raw string
	err := s.db.QueryRowContext(ctx, `SELECT metrics FROM runs WHERE id = ?`, id).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read metrics of run %s: %w", id, err)
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	if _, err := dec.Token(); err != nil { // [
		return fmt.Errorf("decode metrics of run %s: %w", id, err)
	}
	for dec.More() {
		var m api.Metric
		if err := dec.Decode(&m); err != nil {
			return fmt.Errorf("decode metrics of run %s: %w", id, err)
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// HasMetrics reports whether the history holds run id's metrics file
// (kept when the run ended; a run without metrics has an empty one).
func (s *Store) HasMetrics(id string) bool {
	if validFileID(id) != nil {
		return false
	}
	_, err := os.Stat(s.metricsPath(id))
	return err == nil
}

func (s *Store) metricsDir() string { return filepath.Join(filepath.Dir(s.logs), "metrics") }

func (s *Store) metricsPath(id string) string {
	return filepath.Join(s.metricsDir(), id+".jsonl.gz")
}
