// Package watch holds the `ferry watch` latency benchmark (BENCHMARKS.md,
// "Watch"): from the moment a file is written to the moment the new run's
// first output line is printed locally, on the standard tree
// (bench/gentree), for the local target and a loopback OpenSSH sshd.
//
//	go test ./bench/watch -run '^$' -bench Watch -benchtime 1x -v
//
// It builds the binaries and the tree (under .bench/watchtree: other
// benchmarks edit .bench/tree) itself. ITERATIONS sets the saves per target (20);
// PYTHON the interpreter (`ferry watch --python`; default python3 from the
// target's PATH, whose start, a pyenv shim for instance, is part of every save).
// The ferry home and the target's state go under $TMPDIR (default /tmp):
// point it at a folder far from recent mass deletions (BENCHMARKS.md, "A
// measuring hazard").
package watch
