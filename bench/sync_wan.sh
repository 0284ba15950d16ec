#!/usr/bin/env bash
# Sync over a laptop-to-cloud link (BENCHMARKS.md, "Sync over a WAN
# link"): the realistic ML project tree (`go run ./bench/gentree -project`,
# 1,218 files, 44 MB, 8 MiB of it random checkpoints) through
# bench/delayproxy as a 100 Mbit/s link with 10 ms each way, to a real sshd
# on 127.0.0.1. Every command goes through the link; order alternates run
# by run; medians of RUNS runs. Run by `TREE=project bash bench/sync.sh`.
#
# Cases: cold (ferry: a fresh project store on a target already in use:
# executor installed and running, the store empty), first contact (ferry:
# nothing on the target; install included), no change, and 4 KiB rewritten
# in the middle of a 4 MiB CSV file (with the bytes each sent upstream).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
MBIT=${MBIT:-100}
DELAY=${DELAY:-10ms}
SRC=$B/project
if [[ ! -f $SRC.done ]]; then rm -rf "$SRC"; go run ./bench/gentree -project "$SRC"; touch "$SRC.done"; fi
OTHER=$B/other; mkdir -p "$OTHER"; echo 'print("another project")' >"$OTHER/main.py"
start_sshd
start_proxy "$DELAY" "$MBIT"
SSHP="ssh -i $KEY -p $PROXY_PORT -o UserKnownHostsFile=$KH -o BatchMode=yes"
W=$B/sync-wan
rm -rf "$W"; mkdir -p "$W/trash"; sync; sleep 2
ST=$W/st; DST=$W/dst; ZDST=$W/zdst
R=$W/results; mkdir -p "$R"
trash() { if [[ -e $1 ]]; then mv "$1" "$W/trash/$(date +%s%N)"; fi; }
stop_executor() {
	[[ -S $1/executor.sock ]] && curl -s --unix-socket "$1/executor.sock" -X POST http://x/v1/shutdown >/dev/null || true
	for _ in $(seq 100); do [[ -S $1/executor.sock ]] || break; sleep 0.05; done
}
TPL=$W/tpl; mkdir -p "$TPL"
attach "$TPL" t "$PROXY_PORT" "$ST"
FERRY_HOME=$TPL "$FERRY" snapshot --source "$SRC" >/dev/null
sleep 2; FERRY_HOME=$TPL "$FERRY" snapshot --source "$SRC" >/dev/null   # stat cache warm
H=$W/home
ferry_sync() { FERRY_HOME=$H "$FERRY" sync --compute t --source "$1" --json; }
ferry_sync_nk() { FERRY_NO_KEEPER=1 ferry_sync "$@"; } # no connection keeper
# rec NAME CMD...: times CMD and records its seconds and the bytes it sent upstream.
rec() {
	local name=$1 b0 t; shift
	b0=$(proxy_up); t=$(timeit "$@"); sleep 0.3
	echo "$t" >>"$R/$name"; echo "$(($(proxy_up) - b0))" >>"$R/$name.bytes"
}
rsync_a() { rsync -a -e "$SSHP" "$SRC/" "root@127.0.0.1:$1/"; }
rsync_az() { rsync -az -e "$SSHP" "$SRC/" "root@127.0.0.1:$1/"; }
# A target in use with no blobs of this project: executor installed and
# running (started by syncing another project), the project store empty.
fresh_store() {
	stop_executor "$ST"; stop_keeper "$H"
	if [[ -d $ST/executor ]]; then mv "$ST/executor" "$W/exe"; trash "$ST"; mkdir -p "$ST"; mv "$W/exe" "$ST/executor"; fi
	rm -rf "$H"; cp -a "$TPL" "$H"; sync
	ferry_sync "$OTHER" >/dev/null
}
first_contact() { stop_executor "$ST"; stop_keeper "$H"; trash "$ST"; rm -rf "$H"; cp -a "$TPL" "$H"; sync; }

cat "$SRC"/data/* "$SRC"/checkpoints/* >/dev/null
machine | tee "$R/machine-before"
echo "tree: $(find "$SRC" -type f | wc -l) files, $(du -sb "$SRC" | cut -f1) bytes; link: $MBIT Mbit/s, $DELAY each way; runs: $RUNS"
first_contact; ferry_sync "$SRC" >/dev/null   # the executor binary, once
cold_case() {
	case $1 in
	rsync_a) trash "$DST"; sync; rec rsync_a_cold rsync_a "$DST" ;;
	rsync_az) trash "$ZDST"; sync; rec rsync_az_cold rsync_az "$ZDST" ;;
	ferry) fresh_store; rec ferry_cold ferry_sync "$SRC" ;;
	ferry_first) first_contact; rec ferry_first ferry_sync "$SRC" ;;
	esac
}
echo "== cold"
CASES=(rsync_a rsync_az ferry ferry_first)
for i in $(seq "${COLD_RUNS:-$RUNS}"); do
	for j in 0 1 2 3; do cold_case "${CASES[$(((i + j) % 4))]}"; done
	echo "run $i: rsync -a $(tail -1 "$R/rsync_a_cold") -az $(tail -1 "$R/rsync_az_cold") ferry $(tail -1 "$R/ferry_cold") ferry first contact $(tail -1 "$R/ferry_first")"
done

echo "== no change"
SSHCTL=$W/ctl
$SSHP -M -S "$SSHCTL" -fN root@127.0.0.1
ferry_sync "$SRC" >/dev/null; rsync_a "$DST"; rsync_az "$ZDST"
for i in $(seq "$RUNS"); do
	rec rsync_a_nochange rsync_a "$DST"
	rec rsync_az_nochange rsync_az "$ZDST"
	rec rsync_cm_nochange rsync -a -e "ssh -S $SSHCTL" "$SRC/" "root@127.0.0.1:$DST/"
	rec ferry_nochange ferry_sync "$SRC"
	rec ferry_nochange_nokeeper ferry_sync_nk "$SRC"
done

echo "== 4 KiB rewritten inside a 4 MiB file"
F=$SRC/data/train_03.csv
cp "$F" "$W/orig"
edit() { head -c 4096 /dev/urandom | dd of="$F" bs=4096 seek=$((RANDOM % 1000 + 8)) conv=notrunc status=none; }
# Each measured sync sees one edit: an unmeasured sync first takes in the
# edits the others made (the bytes up would otherwise count several).
rsync_cm() { rsync -a -e "ssh -S $SSHCTL" "$SRC/" "root@127.0.0.1:$DST/"; }
for i in $(seq "$RUNS"); do
	rsync_a "$DST" >/dev/null; edit; rec rsync_a_edit rsync_a "$DST"
	rsync_az "$ZDST" >/dev/null; edit; rec rsync_az_edit rsync_az "$ZDST"
	rsync_cm >/dev/null; edit; rec rsync_cm_edit rsync_cm
	ferry_sync "$SRC" >/dev/null; edit; rec ferry_edit ferry_sync "$SRC"
	edit; rec ferry_edit_nokeeper ferry_sync_nk "$SRC"
done
cp "$W/orig" "$F"
ssh -S "$SSHCTL" -O exit x 2>/dev/null || true; SSHCTL=""
stop_executor "$ST"
machine | tee "$R/machine-after"
rm -rf "$W/trash"

python3 - "$R" <<'PY'
import os, statistics, sys
R = sys.argv[1]
def vals(n): return [float(x) for x in open(os.path.join(R, n)).read().split()]
def med(n): return statistics.median(vals(n))
rows = ["rsync_a_cold", "rsync_az_cold", "ferry_cold", "ferry_first",
        "rsync_a_nochange", "rsync_az_nochange", "rsync_cm_nochange", "ferry_nochange", "ferry_nochange_nokeeper",
        "rsync_a_edit", "rsync_az_edit", "rsync_cm_edit", "ferry_edit", "ferry_edit_nokeeper"]
print("\n| measurement | median (s) | bytes up (median) | all runs (s) |\n|---|---|---|---|")
for r in rows:
    print(f"| {r} | {med(r):.3f} | {int(med(r + '.bytes')):,} | {' '.join('%.2f' % x for x in vals(r))} |")
m = {r: med(r) for r in rows}
print("\n| ratio | measured | goal |\n|---|---|---|")
def g(name, v, goal):
    print(f"| {name} | {v:.2f} | <= {goal} ({'met' if v <= goal else 'MISSED'}) |")
g("cold ferry / rsync -a", m["ferry_cold"] / m["rsync_a_cold"], 0.6)
g("cold ferry / rsync -az", m["ferry_cold"] / m["rsync_az_cold"], 0.9)
g("first contact ferry / rsync -a", m["ferry_first"] / m["rsync_a_cold"], 0.6)
g("first contact ferry / rsync -az", m["ferry_first"] / m["rsync_az_cold"], 0.9)
g("no change ferry / rsync -a", m["ferry_nochange"] / m["rsync_a_nochange"], 0.5)
g("no change ferry / rsync via ControlMaster", m["ferry_nochange"] / m["rsync_cm_nochange"], 1.0)
g("no change ferry / rsync via ControlMaster, without the keeper", m["ferry_nochange_nokeeper"] / m["rsync_cm_nochange"], 1.0)
g("4 KiB edit ferry / rsync -a", m["ferry_edit"] / m["rsync_a_edit"], 0.5)
g("4 KiB edit ferry / rsync -a, without the keeper", m["ferry_edit_nokeeper"] / m["rsync_a_edit"], 0.5)
print(f"\nbytes up, 4 KiB edit in a 4 MiB file: ferry {int(med('ferry_edit.bytes')):,} (goal <= 65,536 of file data), rsync -a {int(med('rsync_a_edit.bytes')):,}")
PY
