package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
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
# owner_mode PATH: sets o and m (octal) of PATH, not following a link.
owner_mode() {
	st=$(stat -c '%u %a' "$1") || refuse "cannot inspect $1"
	set -- $st; o=$1; m=$2
}
# dir_ok PATH mine|up: who owns one folder and who may write it.
dir_ok() {
	owner_mode "$1"
	w=$(( 0$m & 022 )); s=$(( 0$m & 01000 ))
	if [ "$2" = mine ]; then
		[ "$o" = "$uid" ] || refuse "$1 is owned by uid $o, not by you (uid $uid)"
		[ "$w" = 0 ] || refuse "$1 is writable by others (mode $m)"
		return 0
	fi
	[ "$o" = "$uid" ] || [ "$o" = 0 ] || refuse "$1 is owned by uid $o, not by you or root"
	[ "$w" = 0 ] || { [ "$o" = 0 ] && [ "$s" != 0 ]; } || refuse "$1 is writable by others (mode $m)"
}
# safe_dir: checks $d and every folder above it, and sets d to its
# physical path; a missing $d passes (nothing there to run yet).
safe_dir() {
	p=$(cd "$d" 2>/dev/null && pwd -P) || return 0
	dir_ok "$p" mine
	a=$p
	while [ "$a" != / ]; do a=$(dirname "$a"); dir_ok "$a" up; done
	d=$p
}
# safe_exe EXE "SHA...": the folders from $d down to EXE, EXE itself and
# its hash. Fails (status 1) when EXE is missing or not a build ferry ships.
safe_exe() {
	for f in "$d/executor" "$(dirname "$1")"; do [ -d "$f" ] && dir_ok "$f" mine; done
	[ -f "$1" ] && [ ! -L "$1" ] || return 1
	owner_mode "$1"
	[ "$o" = "$uid" ] || refuse "$1 is owned by uid $o, not by you"
	[ $(( 0$m & 022 )) = 0 ] || refuse "$1 is writable by others (mode $m)"
	command -v sha256sum >/dev/null || refuse "sha256sum is missing, so $1 cannot be verified"
	sum=$(sha256sum < "$1") || refuse "cannot hash $1"
	sum=${sum%% *}
	for s in $2; do [ "$s" = "$sum" ] && return 0; done
	echo "ferry: $1 is not a build ferry ships (sha256 $sum); installing again" >&2
	return 1
}
`

// shippedSums caches the SHA-256 of each executor binary found beside
// ferry, by path: hashed once per process.
var shippedSums sync.Map

// executorSums returns the SHA-256 (hex) of every executor binary ferry
// ships (one per architecture found), for safe_exe.
func (c *Conn) executorSums() ([]string, error) {
	var sums []string
	for _, arch := range []string{"amd64", "arm64"} {
		bin, err := c.executorBinary(arch)
		if err != nil {
			continue
		}
		sum, err := fileSum(bin)
		if err != nil {
			return nil, err
		}
		sums = append(sums, sum)
	}
	if len(sums) == 0 {
		return nil, fmt.Errorf("%w: no ferry-executor-linux-* beside ferry nor in $FERRY_EXECUTOR_DIR to verify the installed one against", ErrNoExecutorBinary)
	}
	return sums, nil
}

func fileSum(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("hash executor binary: %w", err)
	}
	key := fmt.Sprintf("%s|%d|%d", path, st.Size(), st.ModTime().UnixNano())
	if s, ok := shippedSums.Load(key); ok {
		return s.(string), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash executor binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash executor binary: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	shippedSums.Store(key, sum)
	return sum, nil
}

// unsafeError turns safePathScript's refusal into ErrUnsafeStateDir.
func (c *Conn) unsafeError(stderr []byte) error {
	msg := strings.TrimPrefix(tail(stderr), "ferry: refusing to run the executor: ")
	return fmt.Errorf("%w on %s: %s (use a --state-dir only you can write)", ErrUnsafeStateDir, c.Target.Name, msg)
}
