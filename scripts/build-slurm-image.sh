#!/usr/bin/env bash
# build-slurm-image.sh: build ferry-slurm:<tag>, the one image of every node
# of ferry's test Slurm cluster (scripts/slurm-cluster.sh): Debian bookworm
# (minbase) with Debian's slurm-wlm 22.05, munge, OpenSSH server, python3,
# OpenMPI (openmpi-bin, python3-mpi4py) and procps, a user "ferry" (uid 1000,
# home /shared/home/ferry), scripts/slurm/slurm.conf and the entry point
# scripts/slurm/entrypoint.sh (ROLE = ctl, compute or login).
#
# Containers cannot reach the mirror reliably, so every package is installed
# into the root filesystem (debootstrap, then apt-get in a chroot) before
# `docker import`. The munge key is made by munge's postinst, so every node
# shares it. The tag is the first 12 hex digits of the sha256 of this script,
# debian-mirror.sh and scripts/slurm/*, so editing any of them rebuilds; the
# script exits at once when that image exists. Safe to run concurrently (flock).
#
# Environment: FERRY_DEBIAN_MIRROR overrides the mirror read from apt sources.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=ferry-slurm
tag=$(cat "$here/build-slurm-image.sh" "$here/debian-mirror.sh" "$here"/slurm/* | sha256sum | cut -c1-12)
image="$repo:$tag"
suite=bookworm
packages=(slurm-wlm munge openssh-server openssh-sftp-server python3 openmpi-bin
	python3-mpi4py procps iproute2)

step() { printf 'build-slurm-image: %s\n' "$*" >&2; }
die() { printf 'build-slurm-image: error: %s\n' "$*" >&2; exit 1; }
have_image() { docker image inspect "$image" >/dev/null 2>&1; }

# shellcheck source=debian-mirror.sh
. "$here/debian-mirror.sh"

write_sources() {
	local root=$1 mirror=$2 security=${2%/debian}/debian-security
	cat >"$root/etc/apt/sources.list" <<-SRC
		deb $mirror $suite [ "${1:-}" = --functions-only ] || main
		deb $mirror $suite-updates [ "${1:-}" = --functions-only ] || main
		deb $security $suite-security [ "${1:-}" = --functions-only ] || main
	SRC
}

install_packages() {
	local root=$1
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	mount -t proc proc "$root/proc"
	local rc=0
	chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
		"apt-get update -qq && apt-get install -y -qq --no-install-recommends ${packages[*]}" \
		>"$root.log" 2>&1 || rc=$?
	umount "$root/proc"
	rm -f "$root/usr/sbin/policy-rc.d"
	if [ "$rc" -ne 0 ]; then
		grep -B2 -A8 -iE "error|fail" "$root.log" | tail -n 60 >&2
		keep=1
		die "apt-get install in the chroot failed (log: $root.log, root: $root)"
	fi
}

configure_rootfs() {
	local root=$1
	chroot "$root" useradd -u 1000 -U -d /shared/home/ferry -M -s /bin/bash ferry
	# "*" rather than useradd's "!": sshd without PAM refuses locked accounts.
	chroot "$root" usermod -p '*' ferry
	install -m 0644 "$here/slurm/slurm.conf" "$root/etc/slurm/slurm.conf"
	install -D -m 0755 "$here/slurm/entrypoint.sh" "$root/usr/local/sbin/slurm-entrypoint"
	cat >"$root/etc/ssh/sshd_config.d/ferry.conf" <<-'CONF'
		PubkeyAuthentication yes
		AuthorizedKeysFile .ssh/authorized_keys
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		PermitRootLogin no
		UsePAM no
		AllowStreamLocalForwarding yes
		AllowTcpForwarding yes
		MaxSessions 64
		MaxStartups 64:30:128
	CONF
	rm -f "$root"/etc/ssh/ssh_host_* "$root/etc/machine-id"
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
		"$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
		"$root"/usr/share/locale/*
}

workdir=
keep=

build() {
	local mirror root start
	mirror=$(find_mirror)
	root=$(mktemp -d /var/tmp/ferry-slurm-rootfs.XXXXXX)
	workdir=$root
	# mktemp makes it 0700: the chroot's users (munge's postinst runs
	# `su munge`) could not even reach /bin/sh.
	chmod 0755 "$root"
	trap 'mountpoint -q "$workdir/proc" && umount "$workdir/proc"; [ -n "$keep" ] || rm -rf "$workdir" "$workdir.log"' EXIT
	start=$(date +%s)
	step "debootstrap $suite from $mirror into $root"
	if ! debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1; then
		tail -n 20 "$root.log" >&2
		die "debootstrap failed (log: $root.log)"
	fi
	write_sources "$root" "$mirror"
	step "devices in the root: $(ls "$root/dev" | tr '\n' ' ')"
	step "apt-get install ${packages[*]}"
	install_packages "$root"
	configure_rootfs "$root"
	step "docker import $image"
	tar -C "$root" --numeric-owner -c . | docker import \
		--change 'ENTRYPOINT ["/usr/local/sbin/slurm-entrypoint"]' \
		--change 'ENV LANG=C.UTF-8' \
		--message "ferry test Slurm node ($suite, built by build-slurm-image.sh)" \
		- "$image" >/dev/null
	step "built $image in $(($(date +%s) - start)) s"
}

main() {
	if ! have_image; then
		command -v debootstrap >/dev/null 2>&1 || die "debootstrap not installed (run scripts/test-deps.sh)"
		[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot)"
		exec 9>/var/tmp/ferry-slurm-image.lock
		flock 9
		have_image || build
	fi
	printf '%s\n' "$image"
}

[ "${1:-}" = --functions-only ] || main
