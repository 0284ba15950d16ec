#!/usr/bin/env bash
# Runs every benchmark behind BENCHMARKS.md in turn (`make bench`). Each
# script prints its own markdown tables; RUNS=N changes the repetitions.
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/snapshot.sh
echo; echo "### Sync, standard tree, loopback"
bash bench/sync.sh
echo; echo "### Sync, 1,002 files, 10 ms RTT"
TREE=1k DELAY=5ms bash bench/sync.sh
echo; echo "### Sync, ML project, 100 Mbit/s, 20 ms RTT"
TREE=project bash bench/sync.sh
echo; echo "### Runs and log latency"
bash bench/runs.sh
echo; echo "### Slurm: ferry run to rank 0's first line, against sbatch by hand"
bash bench/slurm.sh
echo; echo "### Bounds: a million metrics, a 2,000,000-entry manifest"
go test ./bench/bounds -run '^$' -bench . -benchtime 1x -v
