package agent

import (
	"reflect"
	"testing"
)

func TestParseSparkFacts(t *testing.T) {
	out := "spark_submit=/usr/bin/spark-submit\nspark_version=3.3.1\n" +
		"yarn_node=RUNNING\nyarn_node=UNHEALTHY\nyarn_node=RUNNING\nyarn_node=LOST\n" +
		"default_fs=abfs://c@acct.dfs.core.windows.net\npython_found=/usr/bin/python3 Python 3.8.10\n"
	got := parseSparkFacts([]byte(out))
	want := &SparkFacts{SparkSubmit: "/usr/bin/spark-submit", Version: "3.3.1", Nodes: 4, NodesRunning: 2,
		NodesUnhealthy: 1, DefaultFS: "abfs://c@acct.dfs.core.windows.net", Pythons: []string{"/usr/bin/python3 Python 3.8.10"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}
