#!/usr/bin/env bash
# Run benchmark (BENCHMARKS.md, "Runs"): the overhead of `ferry run` on a
# warm remote target (executor running, the standard tree synced, one file
# changed before each run) against `ssh ... python3 script.py` on the same
# sshd; then log latency: a script prints 250 lines 10 ms apart, each with
# its wall clock time.time_ns(), and the harness timestamps each line as it
# arrives on ferry's stdout (remote target, and the local target).
#
#   bash bench/runs.sh          # RUNS=7 by default
set -euo pipefail
source "$(dirname "$0")/lib.sh"
std_tree
W=$B/runs
rm -rf "$W"; mkdir -p "$W"; sync; sleep 5   # let earlier deletes settle
SRC=$B/treerun
if [[ ! -f $SRC.done ]]; then rm -rf "$SRC"; cp -a "$B/tree" "$SRC"; touch "$SRC.done"; fi
printf 'print("hello from the script")\n' >"$SRC/script.py"
LOGSRC=$W/logsrc; mkdir -p "$LOGSRC"
cat >"$LOGSRC/logs.py" <<'PY'
import sys, time
for i in range(250):
    print("T", i, time.time_ns(), flush=True)
    time.sleep(0.01)
PY
start_sshd
ST=$W/st; H=$W/home
attach "$H" t "$SSH_PORT" "$ST"
export FERRY_HOME=$H
R=$W/results; mkdir -p "$R"
machine | tee "$R/machine-before"
"$FERRY" sync --compute t --source "$SRC" >/dev/null 2>&1
"$FERRY" run --compute t --source "$SRC" script.py >/dev/null 2>&1   # warm: executor up, python cached
F=$SRC/src/pkg00/mod000.py
cp "$F" "$W/orig"
echo "== run overhead"
for i in $(seq "$RUNS"); do
	head -c 4096 /dev/urandom >"$F"
	echo "$(timeit "$FERRY" run --compute t --source "$SRC" script.py)" >>"$R/ferry_run"
	echo "$(timeit ssh $SSHOPTS root@127.0.0.1 python3 "$SRC/script.py")" >>"$R/ssh_run"
	echo "run $i: ferry $(tail -1 "$R/ferry_run") ssh $(tail -1 "$R/ssh_run")"
done
"$FERRY" run --compute t --source "$SRC" script.py
cp "$W/orig" "$F"

echo "== log latency"
lat() { # NAME ARGS...: runs ferry ARGS, writes per-line latencies (ms) to $R/NAME
	python3 - "$R/$1" "$FERRY" "${@:2}" <<'PY'
import subprocess, sys, time
out, argv = sys.argv[1], sys.argv[2:]
p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
lat = []
buf = b""
while True:
    chunk = p.stdout.read(65536)
    if not chunk:
        break
    now = time.time_ns()
    buf += chunk
    *lines, buf = buf.split(b"\n")
    for line in lines:
        f = line.split()
        if len(f) == 3 and f[0] == b"T":
            lat.append((now - int(f[2])) / 1e6)
p.wait()
open(out, "w").write("\n".join("%.3f" % x for x in lat) + "\n")
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(f"{len(lat)} lines: p50 {q(0.5):.2f} ms, p99 {q(0.99):.2f} ms, max {lat[-1]:.2f} ms")
PY
}
lat lat_remote run --compute t --source "$LOGSRC" logs.py
lat lat_local run --compute local --source "$LOGSRC" logs.py
machine | tee "$R/machine-after"
for s in "$ST" "$H/local"; do curl -s --unix-socket "$s/executor.sock" -X POST http://x/v1/shutdown >/dev/null || true; done

python3 - "$R" <<'PY'
import os, statistics, sys
R = sys.argv[1]
vals = lambda n: [float(x) for x in open(os.path.join(R, n)).read().split()]
f, s = statistics.median(vals("ferry_run")), statistics.median(vals("ssh_run"))
print("\n| measurement | median (s) | all runs |\n|---|---|---|")
for n in ("ferry_run", "ssh_run"):
    print(f"| {n} | {statistics.median(vals(n)):.3f} | {' '.join('%.2f' % x for x in vals(n))} |")
print(f"\nferry run / ssh python3 = {f/s:.2f} (goal <= 1.0: {'met' if f <= s else 'MISSED'})")
print("\n| log latency | lines | p50 (ms) | p99 (ms) | max (ms) | goal p50 < 20, p99 < 100 |\n|---|---|---|---|---|---|")
for n in ("lat_remote", "lat_local"):
    v = sorted(vals(n)); q = lambda p: v[min(len(v) - 1, int(p * len(v)))]
    ok = q(0.5) < 20 and q(0.99) < 100
    print(f"| {n} | {len(v)} | {q(0.5):.2f} | {q(0.99):.2f} | {v[-1]:.2f} | {'met' if ok else 'MISSED'} |")
PY
