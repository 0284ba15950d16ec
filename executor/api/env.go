package api

import "time"

// Endpoints for cached environments: the conda prefixes the executor built
// and the derived docker images (ferry-env:<key12>, labelled ferry.key) on
// the target's engine that this executor built or ran, and the base images
// it ran as they are (Base), when an engine answers.
//
//	GET    /v1/envs                -> []EnvInfo of both kinds, least recently
//	                                  used first
//	DELETE /v1/envs/{key}          -> EnvInfo of the removed environment; key
//	                                  may be a unique prefix of 12+ characters
//	                                  (404 unknown, 400 ambiguous, 409 while a
//	                                  conda one is being built or a container
//	                                  uses the image)
//	POST   /v1/envs/prune          PruneRequest -> PruneResponse

// EnvInfo describes one cached environment on the target.
type EnvInfo struct {
	Key  string `json:"key"`
	Kind string `json:"kind"` // EnvConda, EnvPip or EnvDocker
	// Prefix is a conda environment's directory, or a docker image's
	// reference (ferry-env:<key12>).
	Prefix string `json:"prefix"`
	// Size is bytes on disk; for an image, its size as docker images shows
	// it, base layers included.
	Size int64  `json:"size"`
	Tool string `json:"tool,omitempty"` // conda tool, or "docker"
	// CreatedAt is when it was built.
	CreatedAt time.Time `json:"created_at"`
	// LastUsed is when a run last used it.
	LastUsed time.Time `json:"last_used"`
	// Base marks a base image runs used as it is (--docker-image with
	// nothing to build; Prefix is its reference): removing it forgets the
	// record and leaves the image on the engine; prune leaves it alone.
	Base bool `json:"base,omitempty"`
}

// PruneRequest says what to keep, over both kinds together: the Keep most
// recently used environments (negative: no limit on the count; 0 removes
// every one) and, of those, no more than MaxSize bytes in all (0: no limit
// on the size). Environments being built, and images a container uses, are
// never removed.
type PruneRequest struct {
	Keep    int   `json:"keep"`
	MaxSize int64 `json:"max_size,omitempty"`
}

// PruneResponse lists the environments removed and those kept.
type PruneResponse struct {
	Removed []EnvInfo `json:"removed"`
	Kept    []EnvInfo `json:"kept"`
}
