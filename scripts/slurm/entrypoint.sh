#!/bin/sh
# slurm-entrypoint ROLE: start munged, then the role's daemon in the
# foreground (ctl: slurmctld; compute: slurmd; login: sshd). The login role
# authorises $FERRY_AUTHORIZED_KEY for user ferry, makes this container's host
# keys and prints them as "FERRY-HOST-KEY <type> <base64>" lines, then
# "FERRY-TARGET-READY".
set -eu
role=${1:?usage: slurm-entrypoint ctl|compute|login}
install -d -o munge -g munge -m 0755 /run/munge
runuser -u munge -- /usr/sbin/munged
case $role in
ctl)
	install -d -o slurm -g slurm /shared/slurm
	install -d -m 0755 /shared/home
	install -d -o ferry -g ferry -m 0755 /shared/home/ferry /shared/ferry
	exec /usr/sbin/slurmctld -D
	;;
compute)
	exec /usr/sbin/slurmd -D
	;;
login)
	install -d -m 0755 /shared/home
	install -d -o ferry -g ferry -m 0755 /shared/home/ferry /shared/ferry
	install -d -o ferry -g ferry -m 0700 /shared/home/ferry/.ssh
	if [ -n "${FERRY_AUTHORIZED_KEY:-}" ]; then
		printf '%s\n' "$FERRY_AUTHORIZED_KEY" >/shared/home/ferry/.ssh/authorized_keys
		chown ferry:ferry /shared/home/ferry/.ssh/authorized_keys
		chmod 0600 /shared/home/ferry/.ssh/authorized_keys
	fi
	install -d -m 0755 /run/sshd
	ssh-keygen -A >/dev/null
	for f in /etc/ssh/ssh_host_*_key.pub; do
		set -- $(cat "$f")
		echo "FERRY-HOST-KEY $1 $2"
	done
	echo "FERRY-TARGET-READY"
	exec /usr/sbin/sshd -D -e
	;;
*)
	echo "slurm-entrypoint: unknown role $role" >&2
	exit 2
	;;
esac
