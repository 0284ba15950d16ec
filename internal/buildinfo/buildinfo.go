// Package buildinfo holds the release version and build ID stamped in at link time.
//
// The agent and the executor compare both: an executor of another version or
// another build is replaced, so a dev rebuild always reinstalls.
package buildinfo

// Set with -ldflags "-X github.com/ferry-ml/ferry/internal/buildinfo.Version=...".
var (
	// Version is the semantic release version.
	Version = "0.1.0-dev"
	// BuildID identifies one build of Version (a content hash of the sources).
	BuildID = "unknown"
)

// String returns "VERSION+BUILDID".
func String() string { return Version + "+" + BuildID }
