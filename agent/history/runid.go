package history

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// MaxRunIDLen is the longest id NewRunID returns.
const MaxRunIDLen = 64

// defaultRunPrefix names runs whose experiment name has no usable character.
const defaultRunPrefix = "run"

// NewRunID returns a new run id "<experiment>_<unix seconds>_<6 hex>", like
// Azure ML's "exp_1700000000_ab12cd": readable, sortable by time within an
// experiment, and unique in practice (24 random bits per second).
//
// The experiment name is sanitised so the id is safe as a file name and a
// command-line argument: characters outside [A-Za-z0-9_.-] become "_",
// leading "." and "-" are dropped, and it is cut so the id fits in
// MaxRunIDLen bytes.
func NewRunID(experiment string, now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go >= 1.24)
	suffix := "_" + strconv.FormatInt(now.Unix(), 10) + "_" + hex.EncodeToString(b[:])
	prefix := sanitize(experiment)
	if max := MaxRunIDLen - len(suffix); len(prefix) > max {
		prefix = prefix[:max]
	}
	if prefix == "" {
		prefix = defaultRunPrefix
	}
	return prefix + suffix
}

// sanitize maps s onto [A-Za-z0-9_.-] without a leading "." or "-".
func sanitize(s string) string {
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			sb.WriteRune(r)
		default:
			sb.WriteByte('_')
		}
	}
	return strings.TrimLeft(sb.String(), ".-")
}
