package agent

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ErrUnsafeStateDir means the state directory, or a folder above it or
// below it on the way to the executor binary, could let another user plant
// or swap the binary ferry would run (see safePathScript).
var ErrUnsafeStateDir = errors.New("unsafe state directory")

// exitUnsafe is the exit status of safePathScript's refusal.
const exitUnsafe = 126

// safePathScript defines safe_dir and safe_exe, run on the target before
// ferry runs anything from its state directory (the checks OpenSSH's
// safe_path makes of authorized_keys, applied to the executor):
//
//   - every folder from / down to the state directory $d is owned by the
//     user or root, and writable by no one else, except a root-owned
//     sticky folder such as /tmp, and that only above $d;
//   - $d and the folders below it on the way to the binary are the
//     user's own and writable by no one else;
//   - the binary is the user's own, writable by no one else, and its
//     SHA-256 is one of those ferry ships (its args after the path).
//
// It works on the physical path (pwd -P), so a link cannot point the
// check at one folder and the exec at another. A refusal says why on
// stderr and exits exitUnsafe.
const safePathScript = `uid=$(id -u)
refuse() { echo "ferry: refusing to run the executor: $*" >&2; exit 126; }
# dir_ok PATH UID MODE mine|up: may one folder, owned by UID with MODE
# (octal), hold what ferry runs?
dir_ok() {
	w=$(( 0$3 & 022 )); s=$(( 0$3 & 01000 ))
	if [ "$4" = mine ]; then
		[ "$2" = "$uid" ] || refuse "$1 is owned by uid $2, not by you (uid $uid)"
		[ "$w" = 0 ] || refuse "$1 is writable by others (mode $3)"
		return 0
	fi
	[ "$2" = "$uid" ] || [ "$2" = 0 ] || refuse "$1 is owned by uid $2, not by you or root"
	[ "$w" = 0 ] || { [ "$2" = 0 ] && [ "$s" != 0 ]; } || refuse "$1 is writable by others (mode $3)"
}
# safe_dir: checks $d and every folder above it (one stat for them all),
# and sets d to its physical path; a missing $d passes (nothing there to
# run yet).
safe_dir() {
	p=$(cd "$d" 2>/dev/null && pwd -P) || return 0
	set -- "$p"; a=$p
	while [ "$a" != / ]; do a=${a%/*}; a=${a:-/}; set -- "$@" "$a"; done
	st=$(stat -c '%u %a' "$@") || refuse "cannot inspect $p or a folder above it"
	k=mine
	while read -r o m; do dir_ok "$1" "$o" "$m" $k; k=up; shift; done <<EOF
$st
EOF
	d=$p
}
# safe_exe EXE "SHA...": the folders from $d down to EXE, EXE itself and
# its hash. Fails (status 1) when EXE is missing or not a build ferry ships.
# EXE.verified keeps the hash with the identity of the file it was taken
# of (device, inode, size, mtime and ctime): any write, chmod or rename
# changes the ctime, so the hash is taken again only then.
safe_exe() {
	f=$1; l=$2
	if [ ! -f "$f" ] || [ -L "$f" ]; then
		for p in "$d/executor" "${f%/*}"; do
			[ -d "$p" ] || continue
			st=$(stat -c '%u %a' "$p") || refuse "cannot inspect $p"
			dir_ok "$p" $st mine
		done
		return 1
	fi
	st=$(stat -c '%u %a %d:%i:%s:%.9Y:%.9Z' "$d/executor" "${f%/*}" "$f") || refuse "cannot inspect $f"
	set -- $st
	dir_ok "$d/executor" "$1" "$2" mine
	dir_ok "${f%/*}" "$4" "$5" mine
	[ "$7" = "$uid" ] || refuse "$f is owned by uid $7, not by you"
	[ $(( 0$8 & 022 )) = 0 ] || refuse "$f is writable by others (mode $8)"
	id=$9
	if [ -f "$f.verified" ] && read -r vid vsum <"$f.verified" && [ "$vid" = "$id" ]; then
		for s in $l; do [ "$s" = "$vsum" ] && return 0; done
	fi
	command -v sha256sum >/dev/null || command -v openssl >/dev/null ||
		refuse "neither sha256sum nor openssl is installed, so $f cannot be verified"
	sum=$(sha256 < "$f") || refuse "cannot hash $f"
	sum=${sum%% *}
	shipped_or_rehash "$f" "$l" || {
		echo "ferry: $f is not a build ferry ships (sha256 $sum); installing again" >&2
		return 1
	}
	(umask 077 && printf '%s %s\n' "$id" "$sum" >"$f.verified") 2>/dev/null
	return 0
}
# sha256: the SHA-256 of stdin (hex, then anything). openssl where there is
# one: it uses the CPU's SHA instructions, which coreutils' sha256sum 9.1
# does not (25 against 81 ms for the executor on an AMD EPYC).
sha256() { if command -v openssl >/dev/null; then openssl dgst -sha256 -r; else sha256sum; fi; }
# shipped_or_rehash FILE "SHA...": succeeds when $sum, FILE's hash as sha256
# gave it, is one of those ferry ships. When it is not and openssl took it,
# sha256sum takes it again, so that an openssl that prints something else
# costs a second hash, never a refusal; sum is then sha256sum's.
shipped_or_rehash() {
	case " $2 " in *" $sum "*) return 0 ;; esac
	command -v openssl >/dev/null && command -v sha256sum >/dev/null || return 1
	sum=$(sha256sum < "$1") || return 1
	sum=${sum%% *}
	case " $2 " in *" $sum "*) return 0 ;; esac
	return 1
}
`

// executorSums returns the SHA-256 (hex) of every executor binary ferry
// ships (one per architecture found), for safe_exe.
func (c *Conn) executorSums() ([]string, error) {
	var bins []string
	for _, arch := range []string{"amd64", "arm64"} {
		if bin, err := c.executorBinary(arch); err == nil {
			bins = append(bins, bin)
		}
	}
	if len(bins) == 0 {
		return nil, fmt.Errorf("%w: no ferry-executor-linux-* beside ferry nor in $FERRY_EXECUTOR_DIR to verify the installed one against", ErrNoExecutorBinary)
	}
	return shippedSums(c.sumsCache(), bins)
}

// sumsCache is where the executor binaries' sums are remembered.
func (c *Conn) sumsCache() string { return filepath.Join(c.home, "cache", "executor-sums.json") }

// unsafeError turns safePathScript's refusal into ErrUnsafeStateDir.
func (c *Conn) unsafeError(stderr []byte) error {
	msg := strings.TrimPrefix(tail(stderr), "ferry: refusing to run the executor: ")
	return fmt.Errorf("%w on %s: %s (use a --state-dir only you can write)", ErrUnsafeStateDir, c.Target.Name, msg)
}
