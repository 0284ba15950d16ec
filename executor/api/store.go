package api

// Error codes the blob store answers with (api.Error.Code).
const (
	// CodeMissingBlobs: PUT /v1/snapshots/{id} names blobs the executor
	// lacks (409, body MissingBlobs).
	CodeMissingBlobs = "missing_blobs"
	// CodeNoSpace: the executor's file system is full (507); nothing
	// partial was stored.
	CodeNoSpace = "no_space"
	// CodeCorrupt: a pack is truncated or its framing is damaged (422); it
	// was deleted and nothing of it was stored.
	CodeCorrupt = "corrupt"
)

// MissingBlobs is the body of a 409 answer to PUT /v1/snapshots/{id}: the
// usual Error fields plus the blobs to upload before trying again.
type MissingBlobs struct {
	Error
	Missing []string `json:"missing"`
}
