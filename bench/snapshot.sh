#!/usr/bin/env bash
# Snapshot benchmark (BENCHMARKS.md, "Snapshot"): ferry snapshot, warm and
# cold, beside find, git status and a parallel sha256sum on the standard
# tree (bench/gentree). Prints a markdown table of medians and ratios.
#
#   bash bench/snapshot.sh            # RUNS=15 by default
#   RUNS=30 CPUS=0,1 bash bench/snapshot.sh
#
# CPUS pins every measured command to those CPUs with taskset (use it on a
# bigger machine to measure the 2-core case).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
RUNS=${RUNS:-15}
B=$PWD/.bench
TREE=$B/tree
GITCOPY=$B/gitcopy
export FERRY_HOME=$B/home
PIN=""
if [[ -n "${CPUS:-}" ]]; then PIN="taskset -c $CPUS "; fi

command -v hyperfine >/dev/null || apt-get install -y hyperfine >/dev/null 2>&1 || {
	apt-get update >/dev/null && apt-get install -y hyperfine >/dev/null; }

if [[ ! -x bin/ferry || "${SKIP_BUILD:-}" == "" ]]; then
	make build >/dev/null 2>&1 || go build -trimpath -ldflags '-s -w' -o bin/ferry ./cmd/ferry
fi
FERRY=$PWD/bin/ferry

if [[ ! -f $B/tree.done ]]; then
	rm -rf "$TREE" "$GITCOPY"
	go run ./bench/gentree "$TREE"
	touch "$B/tree.done"
fi
if [[ ! -f $B/gitcopy.done ]]; then
	rm -rf "$GITCOPY"
	cp -a "$TREE" "$GITCOPY"
	git -C "$GITCOPY" init -q
	git -C "$GITCOPY" -c core.looseCompression=0 add -A
	git -C "$GITCOPY" -c user.name=bench -c user.email=bench@example.com commit -q -m tree
	touch "$B/gitcopy.done"
fi
# The keeper (started by the first snapshot) watches the tree: a warm
# snapshot reuses the last manifest. "no keeper" is the walk with the stat
# cache, what a snapshot costs when something changed or no keeper runs.
trap '"$FERRY" keeper stop 2>/dev/null || true' EXIT
# Page cache warm for everyone; the stat cache older than its racy window.
cat "$TREE"/data/* >/dev/null
"$FERRY" snapshot --source "$TREE" >/dev/null 2>&1
sleep 3
"$FERRY" snapshot --source "$TREE" >/dev/null 2>&1
"$FERRY" snapshot --source "$TREE" >/dev/null 2>&1

echo "ferry: $("$FERRY" version)"
echo "files: $("$FERRY" snapshot --source "$TREE" --list | wc -l) included; CPUs: $(nproc) (pinned: ${CPUS:-no})"

hyperfine -N --runs "$RUNS" --warmup 3 --export-json "$B/warm.json" \
	-n "ferry snapshot (warm)" "${PIN}$FERRY snapshot --source $TREE" \
	-n "ferry snapshot (warm, no keeper)" "${PIN}$FERRY snapshot --no-keeper --source $TREE" \
	-n "find -printf" "${PIN}find $TREE -printf '%s %T@\n'" \
	-n "git status" "${PIN}git -C $GITCOPY status --porcelain"

# One 4 KiB file rewritten before each run, the same in the git copy: the
# keeper names its folder (src/pkg07, 200 entries with the ignored ones),
# which alone is read again; the walk reads everything.
EDITED=src/pkg07/mod042.py
hyperfine -N --runs "$RUNS" --warmup 3 --export-json "$B/edit.json" \
	-n "ferry snapshot (one file edited)" \
	--prepare "bash -c 'head -c 4096 /dev/urandom >$TREE/$EDITED'" "${PIN}$FERRY snapshot --source $TREE" \
	-n "ferry snapshot (one file edited, no keeper)" \
	--prepare "bash -c 'head -c 4096 /dev/urandom >$TREE/$EDITED'" "${PIN}$FERRY snapshot --no-keeper --source $TREE" \
	-n "git status (one file edited)" \
	--prepare "bash -c 'head -c 4096 /dev/urandom >$GITCOPY/$EDITED'" "${PIN}git -C $GITCOPY status --porcelain"

hyperfine --runs "$RUNS" --warmup 1 --export-json "$B/cold.json" \
	-n "ferry snapshot (cold)" --prepare "rm -rf $FERRY_HOME/cache/stat" \
	"${PIN}$FERRY snapshot --source $TREE" \
	-n "find + xargs sha256sum" --prepare "true" \
	"${PIN}bash -c 'find $TREE -type f -print0 | xargs -0 -n 500 -P2 sha256sum'"

python3 - "$B/warm.json" "$B/cold.json" "$B/edit.json" <<'PY'
import json, statistics, sys
def med(path):
    return {r["command"]: statistics.median(r["times"]) for r in json.load(open(path))["results"]}
w, c, e = med(sys.argv[1]), med(sys.argv[2]), med(sys.argv[3])
fw, fi, gs = w["ferry snapshot (warm)"], w["find -printf"], w["git status"]
fn = w["ferry snapshot (warm, no keeper)"]
fc, sh = c["ferry snapshot (cold)"], c["find + xargs sha256sum"]
print("\n| measurement | median |\n|---|---|")
for k, v in list(w.items()) + list(e.items()) + list(c.items()):
    print(f"| {k} | {v*1000:.1f} ms |")
print(f"\nwarm / find = {fw/fi:.2f} (goal <= 2.0)")
print(f"warm / git status = {fw/gs:.2f} (goal <= 1.2, stretch <= 1.0)")
print(f"warm, no keeper (the walk) / git status = {fn/gs:.2f}")
print(f"cold / sha256sum pipeline = {fc/sh:.2f} (goal <= 0.5)")
fe, fen, ge = e["ferry snapshot (one file edited)"], e["ferry snapshot (one file edited, no keeper)"], e["git status (one file edited)"]
print(f"one file edited / git status (one file edited) = {fe/ge:.2f}; no keeper: {fen/ge:.2f}")
PY
