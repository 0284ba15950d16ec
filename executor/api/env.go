package api

import "time"

// Endpoints for cached environments.
//
//	GET    /v1/envs                -> []EnvInfo, least recently used first
//	DELETE /v1/envs/{key}          -> EnvInfo of the removed environment
//	                                  (404 unknown, 409 while it is being built)
//	POST   /v1/envs/prune          PruneRequest -> PruneResponse

// EnvInfo describes one cached environment on the target.
type EnvInfo struct {
	Key       string    `json:"key"`
	Kind      string    `json:"kind"` // "conda"
	Prefix    string    `json:"prefix"`
	Size      int64     `json:"size"` // bytes on disk
	Tool      string    `json:"tool,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	LastUsed  time.Time `json:"last_used"`
}

// PruneRequest says what to keep: the Keep most recently used environments
// (negative: no limit on the count; 0 removes every one) and, of those, no
// more than MaxSize bytes in all (0: no limit on the size). Environments
// being built are never removed.
type PruneRequest struct {
	Keep    int   `json:"keep"`
	MaxSize int64 `json:"max_size,omitempty"`
}

// PruneResponse lists the environments removed and those kept.
type PruneResponse struct {
	Removed []EnvInfo `json:"removed"`
	Kept    []EnvInfo `json:"kept"`
}
