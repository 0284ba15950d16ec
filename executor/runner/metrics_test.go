package runner

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/hashicorp/go-hclog"
)

// readKept decodes a kept metrics file.
func readKept(t *testing.T, path string) []api.Metric {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []api.Metric
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m api.Metric
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("kept line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// TestKeepMetricsNormalisesAndSkips: kinds and ranks are set, malformed
// and over-long lines are skipped and counted, the rest are kept in order.
func TestKeepMetricsNormalisesAndSkips(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.jsonl")
	b := filepath.Join(dir, "b.jsonl")
	long := `{"name":"huge","value":1,"pad":"` + strings.Repeat("x", api.MaxMetricLine) + `"}`
	os.WriteFile(a, []byte(`{"name":"loss","value":0.5,"step":1}`+"\n"+`not json`+"\n"+long+"\n"+`{"value":3}`+"\n"+`{"name":"acc","kind":"list","values":[1,2]}`+"\n"+`{"name":"torn"`), 0o600)
	os.WriteFile(b, []byte(`{"name":"loss","value":0.25}`+"\n"), 0o600)
	rank := 1
	dst := filepath.Join(dir, "kept.jsonl")
	info, notes, err := keepMetrics([]metricsSource{{Path: a}, {Path: b, Rank: &rank}, {Path: filepath.Join(dir, "none")}}, dst, defaultLimits, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	got := readKept(t, dst)
	if len(got) != 3 || got[0].Name != "loss" || got[0].Kind != api.MetricScalar || got[1].Kind != api.MetricList ||
		got[2].Rank == nil || *got[2].Rank != 1 || got[0].Rank != nil {
		t.Fatalf("kept %+v", got)
	}
	fi, _ := os.Stat(dst)
	if info.Count != 3 || info.Bytes != fi.Size() || info.TooLong != 1 || info.Malformed != 3 || info.Dropped != 0 {
		t.Errorf("info %+v (file %d bytes)", info, fi.Size())
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "skipped 1 metrics line(s) over 64 KiB (line [3]") {
		t.Errorf("notes %q", notes)
	}
}

// TestKeepMetricsCaps: past the count or byte limit metrics are dropped,
// counted, and the note says what was kept and where the rest are.
func TestKeepMetricsCaps(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "m.jsonl")
	var b strings.Builder
	for range 100 {
		b.WriteString(`{"name":"loss","value":1}` + "\n")
	}
	os.WriteFile(src, []byte(b.String()), 0o600)
	tests := []struct {
		name string
		lim  metricsLimits
		want int64
	}{
		{"count", metricsLimits{Count: 10, Bytes: 1 << 20}, 10},
		{"bytes", metricsLimits{Count: 1000, Bytes: 200}, 200 / int64(len(`{"name":"loss","kind":"scalar","value":1}`)+1)},
		{"none", defaultLimits, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "kept.jsonl")
			info, notes, err := keepMetrics([]metricsSource{{Path: src}}, dst, tt.lim, hclog.NewNullLogger())
			if err != nil {
				t.Fatal(err)
			}
			if got := int64(len(readKept(t, dst))); got != tt.want || info.Count != tt.want || info.Dropped != 100-tt.want {
				t.Fatalf("kept %d, info %+v; want %d", got, info, tt.want)
			}
			capped := len(notes) == 1 && strings.Contains(notes[0], "metrics limit reached: kept the first") &&
				strings.Contains(notes[0], "metrics.jsonl on the target keeps them all")
			if capped != (tt.want < 100) {
				t.Errorf("notes %q", notes)
			}
		})
	}
}
