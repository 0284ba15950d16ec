// Package fakespark locates the test stand-ins for a Spark-on-YARN head
// node: spark-submit, yarn and hdfs, all one Python script (fakespark.py in
// this directory, which says what each mirrors of the real commands), plus
// a stand-in pyspark package. They are for ferry's tests only; the
// head-node test image (scripts/build-hdi-image.sh) installs them.
package fakespark

import (
	"path/filepath"
	"runtime"
)

// Dir returns the directory holding the stand-ins.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}
