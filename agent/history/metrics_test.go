package history

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
)

// collect reads every metric of id.
func collect(t *testing.T, s *Store, id string) []api.Metric {
	t.Helper()
	var out []api.Metric
	if err := s.EachMetric(t.Context(), id, func(m api.Metric) error { out = append(out, m); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPutMetricsRoundTrip: metrics are stored compressed beside the
// database and read back in order; a line too long or malformed is
// skipped, the rest survive; a callback's error stops the reading.
func TestPutMetricsRoundTrip(t *testing.T) {
	s, _ := openTest(t)
	id := "exp_1_aaaaaa"
	var b strings.Builder
	for i := range 1000 {
		b.WriteString(`{"name":"loss","kind":"scalar","value":` + strings.Repeat("1", 1+i%3) + `,"step":1}` + "\n")
	}
	b.WriteString(`{"name":"huge","pad":"` + strings.Repeat("x", maxStoredLine) + `"}` + "\n")
	b.WriteString("garbage\n")
	b.WriteString(`{"name":"last","kind":"tag","value":0,"text":"t"}`)
	if err := s.PutMetrics(id, strings.NewReader(b.String())); err != nil {
		t.Fatal(err)
	}
	got := collect(t, s, id)
	if len(got) != 1001 || got[0].Name != "loss" || got[0].Step == nil || got[1000].Name != "last" || got[1000].Text != "t" {
		t.Fatalf("read back %d metrics, last %+v", len(got), got[len(got)-1])
	}
	fi, err := os.Stat(s.metricsPath(id))
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() > int64(b.Len())/10 {
		t.Errorf("stored file %v (%v), want 0600 and compressed well under %d bytes", fi, err, b.Len())
	}
	stop := errors.New("stop")
	n := 0
	err = s.EachMetric(t.Context(), id, func(api.Metric) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("EachMetric with a failing callback: %v after %d", err, n)
	}
}

// TestPutMetricsOverLimitStoresNothing: a stream larger than any
// executor keeps is refused and no file is left behind.
func TestPutMetricsOverLimitStoresNothing(t *testing.T) {
	s, _ := openTest(t)
	id := "exp_1_bbbbbb"
	big := io.LimitReader(zeros{}, api.MaxMetricsBytes+10)
	if err := s.PutMetrics(id, big); !errors.Is(err, ErrTooManyMetrics) {
		t.Fatalf("PutMetrics over the limit = %v, want ErrTooManyMetrics", err)
	}
	if _, err := os.Stat(s.metricsPath(id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a metrics file was left: %v", err)
	}
	if err := s.PutMetrics("../x", strings.NewReader("")); err == nil {
		t.Errorf("PutMetrics accepted the id ../x")
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestEachMetricLegacyColumn: a run recorded by an older ferry, with its
// metrics in the runs table, still has them.
func TestEachMetricLegacyColumn(t *testing.T) {
	s, _ := openTest(t)
	id := "exp_1_cccccc"
	if err := s.Put(t.Context(), testRecord(id, time.Unix(1, 0))); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, s, id); len(got) != 0 {
		t.Fatalf("a new run has metrics %+v", got)
	}
	_, err := s.db.ExecContext(t.Context(), `UPDATE runs SET metrics = ? WHERE id = ?`,
		`[{"name":"loss","value":1},{"name":"loss","value":0.5,"step":2}]`, id)
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, s, id)
	if len(got) != 2 || got[1].Value != 0.5 || got[1].Step == nil || *got[1].Step != 2 {
		t.Fatalf("legacy metrics %+v", got)
	}
	if got := collect(t, s, "exp_1_nosuch"); len(got) != 0 {
		t.Errorf("a missing run has metrics %+v", got)
	}
}
