#!/usr/bin/env bash
# slurm-cluster.sh up|down: ferry's test Slurm cluster in containers, from
# the image of build-slurm-image.sh: slurmctld, compute nodes c1 and c2
# (slurmd, 2 CPUs each) and a login node (sshd, Slurm's client tools), all on
# a private Docker network, with one volume mounted at /shared on every node
# (home /shared/home/ferry; ferry's shared root /shared/ferry).
#
# up prints, as its last line on stdout, the exact `ferry compute attach`
# command for the cluster (with --known-hosts). down removes the containers,
# the network and the volume.
#
# Environment: FERRY_SLURM_NAME (default ferry-slurm-lab) prefixes every
# container, network and volume name; FERRY_SLURM_DIR (default
# ~/.cache/ferry-slurm/NAME) holds the SSH key and known_hosts file.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
name=${FERRY_SLURM_NAME:-ferry-slurm-lab}
dir=${FERRY_SLURM_DIR:-$HOME/.cache/ferry-slurm/$name}
net=$name-net
vol=$name-shared

step() { printf 'slurm-cluster: %s\n' "$*" >&2; }
die() { printf 'slurm-cluster: error: %s\n' "$*" >&2; exit 1; }

node() { # node HOSTNAME ROLE [docker run options...]
	local host=$1 role=$2
	shift 2
	docker run -d --init --name "$name-$host" --hostname "$host" \
		--network "$net" --network-alias "$host" -v "$vol:/shared" \
		--label ferry-slurm="$name" "$@" "$image" "$role" >/dev/null
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
	local limit=$1 what=$2 i
	shift 2
	for ((i = 0; i < limit * 10; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	die "$what: not ready after $limit s"
}

login_ready() { docker logs "$name-login" 2>&1 | grep -q FERRY-TARGET-READY; }
nodes_idle() { [ "$(docker exec "$name-login" sinfo -h -t idle -o %D 2>/dev/null)" = 2 ]; }

known_hosts() { # known_hosts PORT: the login node's host keys as known_hosts lines
	docker logs "$name-login" 2>&1 | awk -v h="[127.0.0.1]:$1" '$1 == "FERRY-HOST-KEY" { print h, $2, $3 }'
}

up() {
	image=$(bash "$here/build-slurm-image.sh")
	down 2>/dev/null
	mkdir -p "$dir" && chmod 700 "$dir"
	[ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$dir/id_ed25519"
	docker network create "$net" >/dev/null
	docker volume create "$vol" >/dev/null
	node slurmctld ctl
	node c1 compute
	node c2 compute
	node login login -p 127.0.0.1::22 -e FERRY_AUTHORIZED_KEY="$(cat "$dir/id_ed25519.pub")"
	wait_for 60 "login node" login_ready
	wait_for 90 "compute nodes" nodes_idle
	local port
	port=$(docker port "$name-login" 22/tcp | head -n1)
	port=${port##*:}
	known_hosts "$port" >"$dir/known_hosts"
	step "cluster $name up: 2 compute nodes idle; login node on 127.0.0.1:$port"
	printf 'ferry compute attach %s --type slurm --address 127.0.0.1 --port %s --username ferry --private-key %s --known-hosts %s --shared-root /shared/ferry\n' \
		"${FERRY_SLURM_TARGET:-slurmlab}" "$port" "$dir/id_ed25519" "$dir/known_hosts"
}

down() {
	local ids
	ids=$(docker ps -aq --filter "label=ferry-slurm=$name")
	[ -z "$ids" ] || docker rm -f $ids >/dev/null
	docker network rm "$net" >/dev/null 2>&1 || true
	docker volume rm "$vol" >/dev/null 2>&1 || true
}

case ${1:-} in
up) up ;;
down) down ;;
*) die "usage: slurm-cluster.sh up|down" ;;
esac
