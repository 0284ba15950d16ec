#!/usr/bin/env bash
# Sync benchmark (BENCHMARKS.md, "Sync"): ferry sync beside rsync -a over
# ssh, tar c | ssh tar x and rsync through an OpenSSH ControlMaster, against
# a real sshd on 127.0.0.1, optionally through a delay proxy. Cold (target
# state empty), no change, and one 4 KiB file changed (with the bytes sent
# client->server, counted by bench/delayproxy). Cold also times two durable
# peers, since ferry makes its blobs durable and rsync does not: rsync
# --fsync, and rsync followed by sync -f. Runs are interleaved; medians of
# RUNS runs.
#
#   bash bench/sync.sh                      # standard tree, loopback
#   TREE=1k DELAY=5ms bash bench/sync.sh    # 1,002 files, 10 ms RTT
#   TREE=project bash bench/sync.sh         # ML project, 100 Mbit/s, 20 ms RTT
set -euo pipefail
if [[ ${TREE:-} == project ]]; then exec bash "$(dirname "$0")/sync_wan.sh"; fi
source "$(dirname "$0")/lib.sh"
rsync --help 2>/dev/null | grep -q -- '--fsync' || { echo "bench/sync.sh: the durable peer needs rsync >= 3.2.4 (--fsync)" >&2; exit 1; }
TREE_KIND=${TREE:-std}
DELAY=${DELAY:-0s}
if [[ $TREE_KIND == std ]]; then std_tree; SRC=$B/tree; else small_tree; SRC=$B/tree1k; fi
start_sshd
start_proxy "$DELAY"
# With a delay every command goes through the proxy; without one only the
# byte-counting round does.
if [[ $DELAY == 0s ]]; then PORT=$SSH_PORT; else PORT=$PROXY_PORT; fi
SSHP="ssh -i $KEY -p $PORT -o UserKnownHostsFile=$KH -o BatchMode=yes"
SSHPX="ssh -i $KEY -p $PROXY_PORT -o UserKnownHostsFile=$KH -o BatchMode=yes"
W=$B/sync-$TREE_KIND
rm -rf "$W"; mkdir -p "$W"; sync; sleep 5   # let an earlier run's deletes settle
ST=$W/st          # ferry's target state dir (same disk as rsync's DST)
DST=$W/dst        # rsync's destination
TDST=$W/tdst      # tar's destination
FDST=$W/fdst      # rsync --fsync's destination
SDST=$W/sdst      # rsync's then sync -f
R=$W/results; mkdir -p "$R"
rec() { echo "$2" >>"$R/$1"; }
# Trees from earlier runs are moved aside, not deleted, until the end:
# deleting 200 MB on this VM (ext4 mounted with discard) slows the next
# fsync-ing command for seconds after `sync` returned, which only ferry
# (the one that makes its writes durable) would pay.
mkdir -p "$W/trash"
trash() { if [[ -e $1 ]]; then mv "$1" "$W/trash/$(date +%s%N)"; fi; }

stop_executor() { # stop the executor of state dir $1, if any
	[[ -S $1/executor.sock ]] && curl -s --unix-socket "$1/executor.sock" -X POST http://x/v1/shutdown >/dev/null || true
	for _ in $(seq 100); do [[ -S $1/executor.sock ]] || break; sleep 0.05; done
}
# Template homes: target t attached at $PORT, tp at the counting proxy.
TPL=$W/tpl; mkdir -p "$TPL"
attach "$TPL" t "$PORT" "$ST"
attach "$TPL" tp "$PROXY_PORT" "$ST"
FERRY_HOME=$TPL "$FERRY" snapshot --source "$SRC" >/dev/null   # warm stat cache
sleep 2; FERRY_HOME=$TPL "$FERRY" snapshot --source "$SRC" >/dev/null
TPLNOCACHE=$W/tplnc; cp -a "$TPL" "$TPLNOCACHE"; rm -rf "$TPLNOCACHE/cache"
H=$W/home         # the warm home for the incremental runs
OTHER=$W/other; mkdir -p "$OTHER"; echo 'print("another project")' >"$OTHER/main.py"
ferry_sync() { FERRY_HOME=$1 "$FERRY" sync --compute "$2" --source "$SRC" --json; }
# The same with no connection keeper: every command dials (ferry before it).
ferry_sync_nk() { FERRY_NO_KEEPER=1 ferry_sync "$@"; }

cat "$SRC"/data/* >/dev/null   # page cache warm for everyone
machine | tee "$R/machine-before"
echo "tree: $(find "$SRC" -type f | wc -l) files, $(du -sb "$SRC" | cut -f1) bytes; delay per direction: $DELAY; runs: ${COLD_RUNS:-5} cold, $RUNS others"

echo "== cold"
for i in $(seq "${COLD_RUNS:-5}"); do
	trash "$DST"; sync
	rec rsync_cold "$(timeit rsync -a -e "$SSHP" "$SRC/" "root@127.0.0.1:$DST/")"
	trash "$TDST"; mkdir -p "$TDST"; sync
	rec tar_cold "$(timeit bash -c "tar cf - -C '$SRC' . | $SSHP root@127.0.0.1 'tar xf - -C $TDST'")"
	# Durable peers: what rsync costs when its copy must survive a crash,
	# as ferry's blobs do (fsync per file; or one syncfs after it, run here
	# since the target is this machine: a floor no real tool reaches).
	trash "$FDST"; sync
	rec rsync_fsync_cold "$(timeit rsync -a --fsync -e "$SSHP" "$SRC/" "root@127.0.0.1:$FDST/")"
	trash "$SDST"; sync
	rec rsync_syncf_cold "$(timeit bash -c "rsync -a -e '$SSHP' '$SRC/' 'root@127.0.0.1:$SDST/' && sync -f '$SDST'")"
	for v in warmcache nocache installed inuse; do
		stop_executor "$ST"; stop_keeper "$H"; rm -rf "$H"
		# installed: the executor binary stays, the store is empty. inuse:
		# the same, and the executor running (started by a sync of another
		# project, which also leaves the keeper's connection open), as
		# sync_wan.sh's cold case: a fresh project on a target in use.
		if [[ $v == installed || $v == inuse ]]; then
			mkdir -p "$W/keep"; mv "$ST/executor" "$W/keep/"; trash "$ST"; mkdir -p "$ST"; mv "$W/keep/executor" "$ST/"
		else trash "$ST"; fi
		sync
		if [[ $v == nocache ]]; then cp -a "$TPLNOCACHE" "$H"; else cp -a "$TPL" "$H"; fi
		if [[ $v == inuse ]]; then FERRY_HOME=$H "$FERRY" sync --compute t --source "$OTHER" >/dev/null; fi
		rec "ferry_cold_$v" "$(timeit ferry_sync "$H" t)"
	done
	echo "run $i: rsync $(tail -1 "$R/rsync_cold") tar $(tail -1 "$R/tar_cold") rsync --fsync $(tail -1 "$R/rsync_fsync_cold") rsync+sync -f $(tail -1 "$R/rsync_syncf_cold") ferry $(tail -1 "$R/ferry_cold_warmcache") ferry(no stat cache) $(tail -1 "$R/ferry_cold_nocache") ferry(executor installed) $(tail -1 "$R/ferry_cold_installed") ferry(target in use) $(tail -1 "$R/ferry_cold_inuse")"
done
ferry_sync "$H" t | tee "$R/ferry_cold.json"; echo

echo "== no change"
SSHCTL=$W/ctl
$SSHP -M -S "$SSHCTL" -fN root@127.0.0.1
ferry_sync "$H" t >/dev/null
for i in $(seq "$RUNS"); do
	rec rsync_nochange "$(timeit rsync -a -e "$SSHP" "$SRC/" "root@127.0.0.1:$DST/")"
	rec rsync_cm_nochange "$(timeit rsync -a -e "ssh -S $SSHCTL" "$SRC/" "root@127.0.0.1:$DST/")"
	rec ferry_nochange "$(timeit ferry_sync "$H" t)"
	rec ferry_nochange_nokeeper "$(timeit ferry_sync_nk "$H" t)"
done

echo "== one file changed"
F=$SRC/src/pkg00/mod000.py
cp "$F" "$W/orig"
for i in $(seq "$RUNS"); do
	head -c 4096 /dev/urandom >"$F"
	rec rsync_onefile "$(timeit rsync -a -e "$SSHP" "$SRC/" "root@127.0.0.1:$DST/")"
	rec rsync_cm_onefile "$(timeit rsync -a -e "ssh -S $SSHCTL" "$SRC/" "root@127.0.0.1:$DST/")"
	rec ferry_onefile "$(timeit ferry_sync "$H" t)"
	head -c 4096 /dev/urandom >"$F"
	rec ferry_onefile_nokeeper "$(timeit ferry_sync_nk "$H" t)"
done
echo "-- bytes client->server through the counting proxy (one file changed)"
ferry_sync "$H" tp >/dev/null; rsync -a -e "$SSHPX" "$SRC/" "root@127.0.0.1:$DST/"
head -c 4096 /dev/urandom >"$F"
b0=$(proxy_up); rsync -a -e "$SSHPX" "$SRC/" "root@127.0.0.1:$DST/"; sleep 0.3; b1=$(proxy_up)
ferry_sync "$H" tp | tee "$R/ferry_onefile.json"; sleep 0.3; b2=$(proxy_up)
echo "$((b1 - b0))" >"$R/bytes_rsync_onefile"; echo "$((b2 - b1))" >"$R/bytes_ferry_onefile"
cp "$W/orig" "$F"
ssh -S "$SSHCTL" -O exit x 2>/dev/null || true; SSHCTL=""
stop_executor "$ST"
machine | tee "$R/machine-after"
rm -rf "$W/trash"

python3 - "$R" <<'PY'
import os, statistics, sys
R = sys.argv[1]
def med(n):
    return statistics.median(float(x) for x in open(os.path.join(R, n)).read().split())
rows = ["rsync_cold", "tar_cold", "rsync_fsync_cold", "rsync_syncf_cold", "ferry_cold_warmcache", "ferry_cold_nocache", "ferry_cold_installed", "ferry_cold_inuse",
        "rsync_nochange", "rsync_cm_nochange", "ferry_nochange", "ferry_nochange_nokeeper",
        "rsync_onefile", "rsync_cm_onefile", "ferry_onefile", "ferry_onefile_nokeeper"]
print("\n| measurement | median (s) | all runs |\n|---|---|---|")
for r in rows:
    print(f"| {r} | {med(r):.3f} | {' '.join('%.2f' % float(x) for x in open(os.path.join(R, r)).read().split())} |")
m = {r: med(r) for r in rows}
br, bf = int(open(R + "/bytes_rsync_onefile").read()), int(open(R + "/bytes_ferry_onefile").read())
print("\n| ratio | measured | goal |\n|---|---|---|")
def g(name, v, goal):
    print(f"| {name} | {v:.2f} | <= {goal} ({'met' if v <= goal else 'MISSED'}) |")
g("cold ferry / rsync (stat cache warm)", m["ferry_cold_warmcache"] / m["rsync_cold"], 0.75)
g("cold ferry / rsync (stat cache cold)", m["ferry_cold_nocache"] / m["rsync_cold"], 0.75)
g("cold ferry / rsync (executor already installed)", m["ferry_cold_installed"] / m["rsync_cold"], 0.75)
g("cold ferry / rsync (target in use: executor running, store empty)", m["ferry_cold_inuse"] / m["rsync_cold"], 0.75)
g("cold ferry / tar", m["ferry_cold_warmcache"] / m["tar_cold"], 1.0)
for name, peer in (("rsync -a --fsync", "rsync_fsync_cold"), ("rsync -a, then sync -f", "rsync_syncf_cold")):
    print(f"| cold ferry / {name} (stat cache warm; executor installed) | "
          f"{m['ferry_cold_warmcache'] / m[peer]:.2f}; {m['ferry_cold_installed'] / m[peer]:.2f} | (none: durable peers) |")
g("no change ferry / rsync", m["ferry_nochange"] / m["rsync_nochange"], 0.5)
g("no change ferry / rsync via ControlMaster", m["ferry_nochange"] / m["rsync_cm_nochange"], 1.0)
g("no change ferry / rsync, without the keeper", m["ferry_nochange_nokeeper"] / m["rsync_nochange"], 0.5)
g("no change ferry / rsync via ControlMaster, without the keeper", m["ferry_nochange_nokeeper"] / m["rsync_cm_nochange"], 1.0)
g("one file ferry / rsync", m["ferry_onefile"] / m["rsync_onefile"], 0.5)
g("one file ferry / rsync, without the keeper", m["ferry_onefile_nokeeper"] / m["rsync_onefile"], 0.5)
print(f"| one file ferry / rsync via ControlMaster | {m['ferry_onefile'] / m['rsync_cm_onefile']:.2f} | (none) |")
print(f"\nbytes client->server, one 4 KiB file changed: rsync {br}, ferry {bf} (goal <= 4096 + 65536 = 69632: {'met' if bf <= 69632 else 'MISSED'})")
PY
