package runner

import (
	"reflect"
	"testing"
)

// A PYSPARK_PYTHON or PYSPARK_DRIVER_PYTHON in the executor's environment
// must not reach spark-submit: Spark copies them into a cluster-mode
// driver's container, where they would choose the interpreter.
func TestSparkEnvDropsInterpreterChoice(t *testing.T) {
	env := []string{"PATH=/bin", "PYSPARK_PYTHON=/opt/a/python", "PYSPARK_DRIVER_PYTHON=/opt/b/python", "PYSPARK_PYTHON_X=1"}
	want := []string{"PATH=/bin", "PYSPARK_PYTHON_X=1"}
	if got := sparkEnv(env); !reflect.DeepEqual(got, want) {
		t.Fatalf("sparkEnv = %q, want %q", got, want)
	}
}
