#!/usr/bin/env bash
# Slurm benchmark (BENCHMARKS.md, "Slurm"): on the test cluster
# (scripts/slurm-cluster.sh, its own FERRY_SLURM_NAME), the time from
# `ferry run --node-count 2` to the first output line of rank 0 on ferry's
# stdout, against the same 2-node job submitted by hand: one ssh to the login
# node running sbatch, then polling the output file every 50 ms until its
# first line appears. Run alternately, RUNS times each, each after a random
# pause of 0 to 1 s (the first ferry run, right after attach, is reported on
# its own); medians, their ratio, and where the time went.
#
#   bash bench/slurm.sh        # RUNS=20 by default; KEEP=1 leaves the cluster up
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
RUNS=${RUNS:-20}
B=$PWD/.bench/slurm
FERRY=${FERRY:-$PWD/bin/ferry}
export FERRY_EXECUTOR_DIR=${FERRY_EXECUTOR_DIR:-$PWD/bin}
export FERRY_SLURM_NAME=${FERRY_SLURM_NAME:-ferry-slurm-bench}
export FERRY_SLURM_DIR=$B/cluster FERRY_SLURM_TARGET=bench FERRY_HOME=$B/home
if [[ -z "${SKIP_BUILD:-}" || ! -x $FERRY ]]; then make build >/dev/null; fi
rm -rf "$B"
mkdir -p "$B/proj" "$B/results"
down() { [[ -n "${KEEP:-}" ]] || bash scripts/slurm-cluster.sh down; }
trap down EXIT
machine() { echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -r); load average: $(cut -d' ' -f1-3 /proc/loadavg)"; }

t0=$(date +%s.%N)
attach=$(bash scripts/slurm-cluster.sh up | tail -n 1)
echo "cluster up in $(echo "$(date +%s.%N) - $t0" | bc -l | cut -c1-5) s: $attach"
read -r -a words <<<"$attach"
"$FERRY" "${words[@]:1}" >/dev/null
port=$(sed -n 's/.*--port \([0-9]*\).*/\1/p' <<<"$attach")
SSH=(ssh -p "$port" -i "$FERRY_SLURM_DIR/id_ed25519" -o UserKnownHostsFile="$FERRY_SLURM_DIR/known_hosts"
	-o BatchMode=yes ferry@127.0.0.1)

# The job: a script that prints one line at once, on 2 nodes, 1 process each.
printf 'print("first line", flush=True)\n' >"$B/proj/first.py"
"${SSH[@]}" 'mkdir -p bench && cat >bench/first.py' <"$B/proj/first.py"
FERRY_RUN=("$FERRY" run --compute bench --source "$B/proj" --node-count 2 --distributed pytorch first.py)
# The hand job, in one ssh: sbatch, then poll every 50 ms (for at most a
# minute) for the first line; then wait until squeue no longer lists the job,
# so that runs never overlap. On stderr, for the phases: when sbatch returned,
# when the poll saw the line and when the output file was created (the batch
# script's start).
HAND='set -e
cd bench
id=$(sbatch --parsable --nodes=2 --ntasks-per-node=1 --output=hand-%j.out --wrap "srun python3 -u first.py")
echo "submitted $(date +%s.%N)" >&2
f=hand-$id.out n=0
while [ ! -s "$f" ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n + 1)); done
[ -s "$f" ]
echo "seen $(date +%s.%N) $(stat -c %.9W "$f")" >&2
head -n 1 "$f"
while [ -n "$(squeue -h -j "$id")" ]; do sleep 0.05; done'
machine | tee "$B/results/machine-before"
python3 bench/slurmtime.py "$B/results" "$RUNS" "${#FERRY_RUN[@]}" "${FERRY_RUN[@]}" "${SSH[@]}" "$HAND"
machine | tee "$B/results/machine-after"

# Where ferry's time went, per run: the driver's "submitted" time, the
# batch script's start (the birth of its output file, which stays empty) and
# rank 0's line written (the run log's mtime: it holds that one line).
cat "$B/results/ferry_cold" "$B/results/ferry_runs" | cut -d' ' -f1,2 | "${SSH[@]}" 'while read -r id t0; do
	d=/shared/ferry/runs/$id
	sub=$(sed -n "s/.*\"@timestamp\":\"\([^\"]*\)\".*\"submitted\".*/\1/p;s/.*\"submitted\".*\"@timestamp\":\"\([^\"]*\)\".*/\1/p" "$d/driver.log" | head -n 1)
	echo "$id $t0 $(date -d "$sub" +%s.%N) $(stat -c %.9W "$d"/slurm-*.out) $(stat -c %.9Y "$d/log")"
done' >"$B/results/ferry_phases"
python3 bench/slurmtime.py --phases "$B/results"
