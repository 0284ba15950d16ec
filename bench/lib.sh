# Shared setup for the sync/run benchmarks (sourced, not run): builds ferry
# and the delay proxy, generates trees, starts a real OpenSSH sshd on
# 127.0.0.1 with generated keys, and attaches ferry targets. Everything
# lives under $B (.bench/) and is stopped by the EXIT trap.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH=/usr/local/go/bin:$PATH
RUNS=${RUNS:-7}
B=$PWD/.bench
mkdir -p "$B"
FERRY=${FERRY:-$PWD/bin/ferry}
export FERRY_EXECUTOR_DIR=${FERRY_EXECUTOR_DIR:-$PWD/bin}
PIDS=()
cleanup() {
	# Keepers started by the benchmark's ferry commands hold sshd connections.
	for s in $(find "$B" -path '*/keeper/*.sock' 2>/dev/null); do
		FERRY_HOME=$(dirname "$(dirname "$s")") "$FERRY" keeper stop 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	if [[ -n "${SSHCTL:-}" ]]; then ssh -S "$SSHCTL" -O exit x 2>/dev/null || true; fi
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null || { apt-get install -y "$2" >/dev/null 2>&1 || {
	apt-get update >/dev/null && apt-get install -y "$2" >/dev/null; }; }; }
need rsync rsync
need hyperfine hyperfine
need sshd openssh-server

if [[ -z "${SKIP_BUILD:-}" || ! -x $FERRY ]]; then make build >/dev/null; fi
go build -o "$B/delayproxy" ./bench/delayproxy

# tree DIR SMALL LARGE: SMALL x 4 KiB files in 100 dirs (the standard tree
# when 10000 20, via bench/gentree) plus LARGE x 8 MiB.
std_tree() {
	if [[ ! -f $B/tree.done ]]; then
		rm -rf "$B/tree"
		go run ./bench/gentree "$B/tree"
		touch "$B/tree.done"
	fi
}
small_tree() { # 1,000 x 4 KiB + 2 x 8 MiB
	local d=$B/tree1k
	if [[ ! -f $d.done ]]; then
		rm -rf "$d"
		python3 - "$d" <<'PY'
import os, random, sys
r = random.Random(7); root = sys.argv[1]
for i in range(1000):
    p = os.path.join(root, "src/pkg%02d/mod%03d.py" % (i // 100, i % 100))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, "wb").write(r.randbytes(4096))
os.makedirs(os.path.join(root, "data"), exist_ok=True)
for i in range(2):
    open(os.path.join(root, "data/shard%d.bin" % i), "wb").write(r.randbytes(8 << 20))
PY
		touch "$d.done"
	fi
}

# start_sshd: sets SSH_PORT, KEY, KH, SSHOPTS (for ssh/rsync -e).
start_sshd() {
	local d=${SSHD_DIR:-$B/sshd}
	rm -rf "$d"
	mkdir -p "$d"
	chmod 700 "$d"
	ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
	ssh-keygen -q -t ed25519 -N '' -f "$d/user_key"
	mkdir -p /root/.ssh
	cp "$d/user_key.pub" "$d/authorized_keys"
	chmod 600 "$d/authorized_keys"
	SSH_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	cat >"$d/sshd_config" <<CFG
ListenAddress 127.0.0.1
HostKey $d/host_key
PidFile none
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $d/authorized_keys
StrictModes no
UsePAM no
AllowStreamLocalForwarding yes
AllowTcpForwarding yes
MaxSessions 64
MaxStartups 100
Subsystem sftp internal-sftp
CFG
	mkdir -p /run/sshd
	/usr/sbin/sshd -D -e -f "$d/sshd_config" -p "$SSH_PORT" 2>"$d/log" &
	PIDS+=($!)
	KEY=$d/user_key
	KH=$d/known_hosts
	echo "[127.0.0.1]:$SSH_PORT $(cat "$d/host_key.pub")" >"$KH"
	for _ in $(seq 50); do
		ssh -i "$KEY" -p "$SSH_PORT" -o UserKnownHostsFile="$KH" -o BatchMode=yes root@127.0.0.1 true 2>/dev/null && break
		sleep 0.1
	done
	SSHOPTS="-i $KEY -p $SSH_PORT -o UserKnownHostsFile=$KH -o BatchMode=yes"
}

# start_proxy DELAY [MBIT]: a counting (and delaying, and with MBIT
# bandwidth-limiting) proxy in front of sshd; sets PROXY_PORT and PROXY_STATS.
start_proxy() {
	PROXY_STATS=$B/proxy.stats
	rm -f "$PROXY_STATS" "$B/proxy.addr"
	"$B/delayproxy" -listen 127.0.0.1:0 -target "127.0.0.1:$SSH_PORT" -delay "$1" -mbit "${2:-0}" -stats "$PROXY_STATS" >"$B/proxy.addr" &
	PIDS+=($!)
	while [[ ! -s $B/proxy.addr ]]; do sleep 0.05; done
	PROXY_PORT=$(sed 's/.*://' "$B/proxy.addr")
	echo "[127.0.0.1]:$PROXY_PORT $(cat "${SSHD_DIR:-$B/sshd}/host_key.pub")" >>"$KH"
}
proxy_up() { cut -d' ' -f1 "$PROXY_STATS"; }

# attach HOME NAME PORT STATEDIR: a remote target through 127.0.0.1:PORT.
attach() {
	FERRY_HOME=$1 "$FERRY" compute attach "$2" --address 127.0.0.1 --port "$3" --username root \
		--private-key "$KEY" --known-hosts "$KH" --state-dir "$4" >/dev/null
}

# stop_keeper HOME: stops the connection keeper of a ferry home about to be
# deleted (it would hold its sshd connection until its idle time ends).
stop_keeper() { FERRY_HOME=$1 "$FERRY" keeper stop 2>/dev/null || true; }

# median of the numbers on stdin.
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# now: seconds since the epoch, float.
now() { date +%s.%N; }
# timeit CMD...: runs it, prints the wall seconds (output discarded).
timeit() { local t0 t1; t0=$(now); "$@" >/dev/null 2>&1 </dev/null; t1=$(now); echo "$t1 - $t0" | bc -l; }
machine() { echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -r); load average: $(cut -d' ' -f1-3 /proc/loadavg)"; }
