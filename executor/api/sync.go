package api

// Endpoints for content-addressed upload. Blob and snapshot ids are SHA-256
// digests in lower-case hex.
//
//	POST /v1/blobs/missing     MissingRequest  -> MissingResponse
//	POST /v1/packs/ingest      IngestRequest   -> IngestResponse
//	PUT  /v1/snapshots/{id}    manifest bytes (snapshot.Manifest encoding) -> SnapshotResponse
//	GET  /v1/snapshots/{id}    -> 200 with the manifest bytes, or 404
//
// Upload protocol: the agent asks which blobs are missing (one round trip),
// writes packs (see pack.go) over SFTP into IncomingDir under the state
// directory, asks the executor to ingest them (it verifies every blob's hash,
// stores each blob with temp file + rename and deletes the pack), then PUTs
// the manifest, which the executor accepts only when every blob it names is
// present. A cut connection therefore never leaves a manifest pointing at a
// missing blob, and blobs that completed are reused by the next sync.

// IncomingDir is where packs are uploaded, relative to the state directory.
const IncomingDir = "incoming"

// MissingRequest asks which of Blobs the executor lacks.
type MissingRequest struct {
	Blobs []string `json:"blobs"`
	// Verify makes the executor re-hash the blobs it has, so that a blob
	// corrupted on disk is reported missing (and then replaced).
	Verify bool `json:"verify,omitempty"`
}

// MissingResponse lists the blobs the agent must upload.
type MissingResponse struct {
	Missing []string `json:"missing"`
}

// IngestRequest names pack files (base names under IncomingDir) to ingest.
type IngestRequest struct {
	Packs []string `json:"packs"`
}

// IngestResponse reports what ingest stored.
type IngestResponse struct {
	Blobs int   `json:"blobs"`
	Bytes int64 `json:"bytes"`
	// Rejected lists records whose content did not hash to their id; they
	// were not stored (the agent uploads them again or reports the file
	// as changed while syncing).
	Rejected []string `json:"rejected,omitempty"`
	// Assembled counts the recipes (named in the upload's assemble
	// parameter) whose file was built and stored (or was already here);
	// AssembleFailed lists the ids of the other recipes (the agent sends
	// their files whole).
	Assembled      int      `json:"assembled,omitempty"`
	AssembleFailed []string `json:"assemble_failed,omitempty"`
	// StoredSnapshot is set when the upload named a snapshot to store
	// (PackUpload.Snapshot) and it was stored; else CommitError says why
	// not, and the agent PUTs the manifest as usual.
	StoredSnapshot *SnapshotResponse `json:"stored_snapshot,omitempty"`
	CommitError    string            `json:"commit_error,omitempty"`
}

// PackUpload holds the query parameters of POST /v1/packs.
type PackUpload struct {
	// Assemble names recipes whose files are built once the pack is
	// stored (see Recipe).
	Assemble []string
	// Snapshot, when set, is stored after that, from the manifest (or,
	// with Base, the delta against Base) that travelled in the pack as
	// record Manifest: a sync that fits in one pack needs no PUT round
	// trip. It is stored as PUT /v1/snapshots/{id} would store it.
	Snapshot, Base, Manifest string
}

// SnapshotResponse acknowledges a stored manifest.
type SnapshotResponse struct {
	ID    string `json:"id"`
	Files int    `json:"files"`
	Bytes int64  `json:"bytes"`
}
