#!/usr/bin/env bash
# hdi-up.sh (make hdi-up): start a local HDInsight-like head node for trying
# `--type hdinsight` targets: a container with sshd, python3 and the
# fakespark TEST STAND-INS for spark-submit, yarn and hdfs (no real Spark or
# Hadoop: see internal/testutil/fakespark/fakespark.py for what they mirror).
# It generates an SSH key and a known_hosts file under $FERRY_HDI_DIR
# (default ./.hdi) and prints, as the last line on stdout, the exact
# `ferry compute attach` command for it. `make hdi-down` removes it.
#
# Environment: FERRY_HDI_NAME (container name, default ferry-hdi),
# FERRY_HDI_PORT (loopback port, default 2230).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
name=${FERRY_HDI_NAME:-ferry-hdi}
port=${FERRY_HDI_PORT:-2230}
dir=$(mkdir -p "${FERRY_HDI_DIR:-$here/../.hdi}" && cd "${FERRY_HDI_DIR:-$here/../.hdi}" && pwd)
step() { printf 'hdi-up: %s\n' "$*" >&2; }

image=$(bash "$here/build-hdi-image.sh")
chmod 0700 "$dir"
[ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C ferry-hdi -f "$dir/id_ed25519"
docker rm -f "$name" >/dev/null 2>&1 || true
step "starting $name from $image on 127.0.0.1:$port"
docker run -d --name "$name" --hostname fakehdi-hn0 --label ferry-test=1 \
	-p "127.0.0.1:$port:22" -e "FERRY_AUTHORIZED_KEY=$(cat "$dir/id_ed25519.pub")" "$image" >/dev/null
for _ in $(seq 1 120); do
	docker logs "$name" 2>&1 | grep -q '^FERRY-TARGET-READY' && break
	sleep 0.5
done
docker logs "$name" 2>&1 | grep -q '^FERRY-TARGET-READY' || { docker logs "$name" >&2; exit 1; }
docker logs "$name" 2>&1 | awk -v h="[127.0.0.1]:$port" '$1 == "FERRY-HOST-KEY" { print h, $2, $3 }' >"$dir/known_hosts"
step "ready; remove it with: make hdi-down"
echo "ferry compute attach hdi --type hdinsight --address 127.0.0.1 --port $port --username ferry --private-key $dir/id_ed25519 --known-hosts $dir/known_hosts"
