package runconfig

import (
	"reflect"
	"testing"
)

func TestParseSpark(t *testing.T) {
	data := []byte(`framework: PySpark
spark:
  configuration:
    spark.app.name: Azure ML Experiment
    spark.executor.memory: 4g
    spark.yarn.maxAppAttempts: 1
hdi:
  yarnDeployMode: Client
environment:
  spark:
    repositories: [https://repo.example/maven]
    packages:
    - {group: g, artifact: a, version: 1.0}
    - h:b:2
`)
	rc, warnings, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	want := &Spark{
		DeployMode: "client", DeployModeLine: 8,
		Conf:         map[string]string{"spark.executor.memory": "4g", "spark.yarn.maxAppAttempts": "1"},
		Packages:     []string{"g:a:1.0", "h:b:2"},
		Repositories: []string{"https://repo.example/maven"},
	}
	if !reflect.DeepEqual(rc.Spark, want) {
		t.Fatalf("Spark = %+v, want %+v", rc.Spark, want)
	}
	paths := map[string]int{}
	for _, w := range warnings {
		if !w.HDInsight() {
			t.Errorf("warning %v is not marked as a Spark field's", w)
		}
		paths[w.Path] = w.Line
	}
	wantPaths := map[string]int{"framework": 1, "spark.configuration": 3, "hdi.yarnDeployMode": 8,
		"environment.spark.repositories": 11, "environment.spark.packages": 12}
	if !reflect.DeepEqual(paths, wantPaths) {
		t.Errorf("warnings at %v, want %v", paths, wantPaths)
	}
}

func TestParseSparkShapes(t *testing.T) {
	for _, doc := range []string{
		"environment:\n  spark:\n    packages: g:a:1\n",
		"environment:\n  spark:\n    packages: [[g, a]]\n",
		"spark:\n  configuration: [a]\n",
	} {
		if _, _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("Parse(%q) accepted a malformed Spark field", doc)
		}
	}
}
