#!/usr/bin/env bash
# build-test-image.sh: build ferry-test-target:<tag>, the image of a remote
# Linux compute target for integration tests: Debian bookworm (minbase) with
# python3, python3-venv, OpenSSH server (and sftp-server), rsync, procps, and a
# user "ferry" (uid 1000). Nothing can be pulled here, so the root filesystem
# is made with debootstrap from the Debian mirror in this machine's apt sources
# and loaded with `docker import`.
#
# The tag is the first 12 hex digits of this script's sha256, so editing the
# script rebuilds; the script exits at once when that image exists. It is also
# tagged ferry-test-target:latest. Safe to run twice or concurrently (flock).
#
# The container's entry point, /usr/local/bin/ferry-target-start, authorises
# the public key in $FERRY_AUTHORIZED_KEY (or the file named by
# $FERRY_AUTHORIZED_KEY_FILE, default /run/ferry/authorized_key), generates
# host keys if missing, prints one "FERRY-HOST-KEY <type> <base64>" line per
# host key and then "FERRY-TARGET-READY", and execs `sshd -D -e`.
#
# Environment: FERRY_DEBIAN_MIRROR overrides the mirror read from apt sources.
set -euo pipefail

self="${BASH_SOURCE[0]}"
repo=ferry-test-target
tag=$(sha256sum "$self" | cut -c1-12)
image="$repo:$tag"
suite=bookworm
include=python3,python3-venv,openssh-server,openssh-sftp-server,ca-certificates,procps,rsync

step() { printf 'build-test-image: %s\n' "$*"; }
die() { printf 'build-test-image: error: %s\n' "$*" >&2; exit 1; }

have_image() { docker image inspect "$image" >/dev/null 2>&1; }

# find_mirror: the Debian mirror from this machine's apt sources (or
# $FERRY_DEBIAN_MIRROR). It cannot change what the image holds, so it stays
# out of the tag; build-slurm-image.sh uses the same file.
here=$(cd "$(dirname "$self")" && pwd)
# shellcheck source=debian-mirror.sh
. "$here/debian-mirror.sh"

write_sshd_config() {
	local root=$1
	cat >"$root/etc/ssh/sshd_config.d/ferry.conf" <<-'EOF'
		# ferry test target: public keys only, for the unprivileged user.
		PubkeyAuthentication yes
		AuthorizedKeysFile .ssh/authorized_keys
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		PermitRootLogin no
		UsePAM no
		PidFile none
		AllowStreamLocalForwarding yes
		AllowTcpForwarding yes
		MaxSessions 64
		MaxStartups 64:30:128
		LogLevel INFO
	EOF
}

write_entrypoint() {
	local root=$1
	cat >"$root/usr/local/bin/ferry-target-start" <<-'EOF'
		#!/bin/sh
		# Authorise the test key, make host keys, print them, run sshd.
		set -eu
		key="${FERRY_AUTHORIZED_KEY:-}"
		keyfile="${FERRY_AUTHORIZED_KEY_FILE:-/run/ferry/authorized_key}"
		if [ -z "$key" ] && [ -r "$keyfile" ]; then key=$(cat "$keyfile"); fi
		if [ -n "$key" ]; then
			install -d -m 0700 -o ferry -g ferry /home/ferry/.ssh
			printf '%s\n' "$key" >/home/ferry/.ssh/authorized_keys
			chown ferry:ferry /home/ferry/.ssh/authorized_keys
			chmod 0600 /home/ferry/.ssh/authorized_keys
		fi
		install -d -m 0755 /run/sshd
		ssh-keygen -A >/dev/null
		for f in /etc/ssh/ssh_host_*_key.pub; do
			set -- $(cat "$f")
			echo "FERRY-HOST-KEY $1 $2"
		done
		echo "FERRY-TARGET-READY"
		exec /usr/sbin/sshd -D -e
	EOF
	chmod 0755 "$root/usr/local/bin/ferry-target-start"
}

configure_rootfs() {
	local root=$1
	chroot "$root" useradd --create-home --uid 1000 --user-group --shell /bin/bash ferry
	# "*" rather than useradd's "!": sshd without PAM refuses locked accounts.
	chroot "$root" usermod -p '*' ferry
	install -d -m 0700 -o 1000 -g 1000 "$root/home/ferry/.ssh"
	install -d -m 0755 "$root/run/sshd" "$root/usr/local/bin"
	write_sshd_config "$root"
	write_entrypoint "$root"
	# Each container makes its own host keys; no image-wide machine identity.
	rm -f "$root"/etc/ssh/ssh_host_* "$root/etc/machine-id"
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
		"$root"/var/cache/debconf/*-old "$root"/var/log/*.log "$root"/usr/share/doc/* \
		"$root"/usr/share/man/* "$root"/usr/share/locale/*
}

workdir=

build() {
	local mirror root start
	mirror=$(find_mirror)
	root=$(mktemp -d /var/tmp/ferry-test-rootfs.XXXXXX)
	workdir=$root
	trap 'rm -rf "$workdir"' EXIT
	start=$(date +%s)
	step "debootstrap $suite from $mirror into $root"
	if ! debootstrap --variant=minbase --include="$include" "$suite" "$root" "$mirror" \
		>"$root.log" 2>&1; then
		tail -n 20 "$root.log" >&2
		die "debootstrap failed (log: $root.log)"
	fi
	rm -f "$root.log"
	configure_rootfs "$root"
	step "docker import $image"
	tar -C "$root" --numeric-owner -c . | docker import \
		--change 'CMD ["/usr/local/bin/ferry-target-start"]' \
		--change 'EXPOSE 22' \
		--change 'ENV LANG=C.UTF-8' \
		--message "ferry test target ($suite, built by $(basename "$self"))" \
		- "$image" >/dev/null
	docker tag "$image" "$repo:latest"
	step "built $image in $(($(date +%s) - start)) s"
}

if have_image; then
	docker tag "$image" "$repo:latest"
	step "image $image present"
	exit 0
fi
command -v debootstrap >/dev/null 2>&1 || die "debootstrap not installed (run scripts/test-deps.sh)"
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot)"
exec 9>/var/tmp/ferry-test-image.lock
flock 9
if have_image; then
	docker tag "$image" "$repo:latest"
	step "image $image present (built concurrently)"
	exit 0
fi
build
