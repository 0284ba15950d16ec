// Package bounds holds the memory and size benchmarks of BENCHMARKS.md,
// "Bounds": a local run that logs a million metrics (the executor's peak
// RSS, run.json, the kept metrics, the local history, the memory of
// `ferry show`), and a 2,000,000-entry manifest put to the executor (its
// peak RSS). Each fails when a figure passes its bound.
//
//	go test ./bench/bounds -run '^$' -bench . -benchtime 1x -v
//
// It builds the binaries itself; FERRY_BENCH_BIN=DIR uses the ferry and
// ferry-executor-linux-ARCH in DIR instead (to measure another build), and
// FERRY_BENCH_NO_BOUNDS=1 reports without checking the bounds (for a build
// that does not meet them). FERRY_BENCH_METRICS sets the metrics logged
// (1,000,000).
package bounds
