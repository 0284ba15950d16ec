package portal

import (
	"reflect"
	"testing"

	"github.com/ferry-ml/ferry/executor/api"
)

func TestBuildMetricsByKind(t *testing.T) {
	step := func(i int64) *int64 { return &i }
	ms := []api.Metric{
		{Name: "loss", Value: 0.5, Step: step(0)},
		{Name: "loss", Kind: api.MetricScalar, Value: 0.25, Step: step(1)},
		{Name: "optimizer", Text: "adam"},
		{Name: "lrs", Kind: api.MetricList, Values: []any{0.1, 0.01, 0.001}},
		{Name: "classes", Kind: api.MetricList, Values: []any{"cat", "dog"}},
		{Name: "epochs", Kind: api.MetricRow, Row: map[string]any{"epoch": 1.0, "acc": 0.5}},
		{Name: "epochs", Kind: api.MetricRow, Row: map[string]any{"epoch": 2.0, "acc": 0.75}},
		{Name: "confusion", Kind: api.MetricTable, Table: map[string][]any{"a": {1.0, 2.0}, "b": {3.0}}},
		{Name: "sample", Kind: api.MetricImage, Path: "images/sample.png", Description: "first batch"},
		{Name: "team", Kind: api.MetricTag, Text: "vision"},
	}
	outs := []outputView{{OutputFile: api.OutputFile{Path: "images/sample.png"}, URL: "/runs/r/outputs/images/sample.png", Image: true}}
	v := buildMetrics(ms, outs)

	var charts []string
	for _, c := range v.Charts {
		charts = append(charts, c.Title+":"+itoa(c.Lines[0].Drawn))
	}
	if want := []string{"loss:2", "lrs:3"}; !reflect.DeepEqual(charts, want) {
		t.Errorf("charts %v, want %v", charts, want)
	}
	tables := map[string]tableView{}
	for _, tb := range v.Tables {
		tables[tb.Name] = tb
	}
	if tb := tables["epochs"]; !reflect.DeepEqual(tb.Columns, []string{"acc", "epoch"}) || !reflect.DeepEqual(tb.Rows, [][]string{{"0.5", "1"}, {"0.75", "2"}}) {
		t.Errorf("log_row table %+v", tb)
	}
	if tb := tables["confusion"]; !reflect.DeepEqual(tb.Rows, [][]string{{"1", "3"}, {"2", ""}}) {
		t.Errorf("log_table table %+v", tb)
	}
	if tb := tables["classes"]; !reflect.DeepEqual(tb.Rows, [][]string{{"cat"}, {"dog"}}) {
		t.Errorf("list of strings %+v", tb)
	}
	if len(v.Images) != 1 || v.Images[0].URL != "/runs/r/outputs/images/sample.png?inline=1" {
		t.Errorf("images %+v", v.Images)
	}
	if want := []keyValue{{"optimizer", "adam"}, {"team", "vision"}}; !reflect.DeepEqual(v.Tags, want) {
		t.Errorf("tags %v, want %v", v.Tags, want)
	}
}

func itoa(n int) string { return fmtNum(float64(n)) }
