#!/usr/bin/env bash
# test-deps.sh: install what ferry's test suite needs on Debian bookworm, as
# root (make test, CI). Idempotent and fast when everything is already there:
# apt is touched only for missing packages, and the test image is built only
# when scripts/build-test-image.sh changed. Needs no network beyond the Debian
# mirror named in the machine's apt sources.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
packages=(git openssh-server openssh-client rsync debootstrap iproute2 hyperfine
	python3 python3-venv procps chromium zstd openssl)

step() { printf 'test-deps: %s\n' "$*"; }
die() { printf 'test-deps: error: %s\n' "$*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# missing_packages prints the packages of "$@" that dpkg does not have installed.
missing_packages() {
	local p status
	for p in "$@"; do
		status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		[ "$status" = "install ok installed" ] || printf '%s\n' "$p"
	done
}

# available keeps the packages apt knows a candidate for (drops the rest).
available() {
	local p policy
	for p in "$@"; do
		policy=$(apt-cache policy "$p" 2>/dev/null)
		if [[ "$policy" =~ Candidate:\ [^\(] ]]; then
			printf '%s\n' "$p"
		else
			printf 'test-deps: skipping %s (no such package here)\n' "$p" >&2
		fi
	done
}

install_packages() {
	local want
	mapfile -t want < <(missing_packages "$@")
	if [ "${#want[@]}" -eq 0 ]; then
		step "packages: all ${#} present"
		return
	fi
	step "packages: installing ${want[*]}"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -qq >/dev/null
	mapfile -t want < <(available "${want[@]}")
	[ "${#want[@]}" -eq 0 ] && return
	as_root apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null \
		2> >(grep -v "^debconf: delaying" >&2)
}

docker_answers() { docker info >/dev/null 2>&1; }

start_docker() {
	if command -v service >/dev/null 2>&1 && service docker start >/dev/null 2>&1; then
		return
	fi
	command -v dockerd >/dev/null 2>&1 || die "dockerd not found"
	step "docker: starting dockerd (log: /var/log/ferry-dockerd.log)"
	as_root setsid dockerd >/var/log/ferry-dockerd.log 2>&1 </dev/null &
}

ensure_docker() {
	if ! command -v docker >/dev/null 2>&1; then
		install_packages docker.io
	fi
	if docker_answers; then
		step "docker: engine answers"
		return
	fi
	start_docker
	local i
	for i in $(seq 1 60); do
		if docker_answers; then
			step "docker: engine answers (started)"
			return
		fi
		sleep 0.5
	done
	die "docker engine does not answer after 30 s (see /var/log/ferry-dockerd.log)"
}

install_packages "${packages[@]}"
ensure_docker
bash "$here/build-test-image.sh"
bash "$here/build-slurm-image.sh" >/dev/null
