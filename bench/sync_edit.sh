#!/usr/bin/env bash
# A 4 KiB edit inside a 4 MiB file (BENCHMARKS.md, "Large files"): the ML
# project tree (`go run ./bench/gentree -project`), 4 KiB of random bytes
# written at a random 4 KiB-aligned offset of the 4 MiB data/train_03.csv,
# then each tool brings its own up-to-date destination up to date again:
# rsync -a, ferry sync, ferry sync without its connection keeper
# (FERRY_NO_KEEPER=1), and with FERRY_BASE=DIR the ferry build in DIR/bin,
# each with its own home and state. One edit per run, every tool syncs it,
# order rotating run by run; medians of RUNS runs. Every command goes
# through bench/delayproxy, which counts the bytes sent upstream.
#
#   bash bench/sync_edit.sh                 # 100 Mbit/s, 10 ms each way
#   LEG=loopback bash bench/sync_edit.sh    # no delay, no bandwidth limit
set -euo pipefail
source "$(dirname "$0")/lib.sh"
LEG=${LEG:-wan}
SRC=$B/project
if [[ ! -f $SRC.done ]]; then rm -rf "$SRC"; go run ./bench/gentree -project "$SRC"; touch "$SRC.done"; fi
start_sshd
if [[ $LEG == wan ]]; then start_proxy 10ms 100; else start_proxy 0s 0; fi
SSHP="ssh -i $KEY -p $PROXY_PORT -o UserKnownHostsFile=$KH -o BatchMode=yes"
W=$B/sync-edit-$LEG
# stop_executor DIR: stops the executor serving state dir DIR, if any.
stop_executor() {
	[[ -S $1/executor.sock ]] && curl -s --unix-socket "$1/executor.sock" -X POST http://x/v1/shutdown >/dev/null || true
	for _ in $(seq 100); do [[ -S $1/executor.sock ]] || break; sleep 0.05; done
}
for h in "$W"/home-*; do [[ -d $h ]] && stop_keeper "$h"; done
for d in "$W"/st-*; do [[ -d $d ]] && stop_executor "$d"; done
rm -rf "$W"; mkdir -p "$W"
R=$W/results; mkdir -p "$R"
cp -a "$SRC" "$W/src"; S=$W/src; F=$S/data/train_03.csv

TOOLS=(rsync ferry ferry_nk)
declare -A BIN=([ferry]=$FERRY [ferry_nk]=$FERRY) EXE=([ferry]=$FERRY_EXECUTOR_DIR [ferry_nk]=$FERRY_EXECUTOR_DIR)
if [[ -n ${FERRY_BASE:-} ]]; then TOOLS+=(base); BIN[base]=$FERRY_BASE/bin/ferry; EXE[base]=$FERRY_BASE/bin; fi
for t in "${TOOLS[@]}"; do
	[[ $t == rsync ]] && continue
	mkdir -p "$W/home-$t"
	FERRY=${BIN[$t]} attach "$W/home-$t" t "$PROXY_PORT" "$W/st-$t"
done

# sync_with TOOL: one sync; prints "seconds bytes_up wire_bytes".
sync_with() {
	local b0 t0 t1 wire=0
	b0=$(proxy_up); t0=$(now)
	if [[ $1 == rsync ]]; then
		rsync -a -e "$SSHP" "$S/" "root@127.0.0.1:$W/dst/" </dev/null >/dev/null
	else
		nk=""; [[ $1 == ferry_nk ]] && nk=1
		FERRY_NO_KEEPER=$nk FERRY_HOME=$W/home-$1 FERRY_EXECUTOR_DIR=${EXE[$1]} "${BIN[$1]}" sync --compute t --source "$S" --json </dev/null >"$W/out.json"
	fi
	t1=$(now); sleep 0.3
	if [[ $1 != rsync ]]; then wire=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["wire_bytes"])' "$W/out.json"); fi
	echo "$(echo "$t1 - $t0" | bc -l) $(($(proxy_up) - b0)) $wire"
}
edit() { head -c 4096 /dev/urandom | dd of="$F" bs=4096 seek=$((RANDOM % 1000 + 8)) conv=notrunc status=none; }

machine | tee "$R/machine-before"
echo "leg: $LEG; tree: $(find "$S" -type f | wc -l) files, $(du -sb "$S" | cut -f1) bytes; runs: $RUNS; tools: ${TOOLS[*]}"
for t in "${TOOLS[@]}"; do sync_with "$t" >/dev/null; sync_with "$t" >/dev/null; done   # cold, then warm
n=${#TOOLS[@]}
for i in $(seq "$RUNS"); do
	edit
	line="run $i:"
	for j in $(seq 0 $((n - 1))); do
		t=${TOOLS[$(((i + j) % n))]}
		sync_with "$t" >>"$R/$t"
		line+=" $t $(tail -1 "$R/$t")"
	done
	echo "$line"
done
machine | tee "$R/machine-after"
for t in "${TOOLS[@]}"; do [[ $t == rsync ]] || { FERRY=${BIN[$t]} stop_keeper "$W/home-$t"; stop_executor "$W/st-$t"; }; done

python3 - "$R" "${TOOLS[@]}" <<'PY'
import os, statistics, sys
R, tools = sys.argv[1], sys.argv[2:]
rows = {t: [list(map(float, l.split())) for l in open(os.path.join(R, t))] for t in tools}
med = lambda t, k: statistics.median(r[k] for r in rows[t])
print("\n| tool | median (s) | bytes up through the proxy (median) | pack wire_bytes (median, max) | all runs (s) |\n|---|---|---|---|---|")
for t in tools:
    wire = "" if t == "rsync" else f"{int(med(t, 2)):,}, {int(max(r[2] for r in rows[t])):,}"
    print(f"| {t} | {med(t, 0):.3f} | {int(med(t, 1)):,} | {wire} | {' '.join('%.2f' % r[0] for r in rows[t])} |")
for t in tools:
    if t != "rsync":
        print(f"\n{t} / rsync -a: time {med(t, 0) / med('rsync', 0):.2f}, bytes up {med(t, 1) / med('rsync', 1):.2f}")
print(f"\nferry pack bytes <= 65,536 in every run: {all(r[2] <= 65536 for r in rows['ferry'])}")
PY
