package api

// Endpoints for the fast sync path.
//
//	POST /v1/sync/plan          PlanRequest -> PlanResponse
//	POST /v1/packs[?assemble={recipe}...][&snapshot={id}&manifest={record}[&base={base}]]
//	                            a pack (pack.go) as the request body -> IngestResponse
//	PUT  /v1/snapshots/{id}?base={base}
//	                            a snapshot.Delta against base -> SnapshotResponse
//
// One round trip decides what to send: the agent names the snapshot it
// wants on the target, the last snapshot it synced there (base) and the
// blobs that differ from base. The target answers whether it already has
// the snapshot (nothing to do), whether it still has base (so a delta
// manifest and the differing blobs suffice), and which of the named blobs it
// lacks. Packs then stream over the same forwarded socket as the API: no
// remote process is started and there is no per-file round trip.
//
// Large files (protocol 3): for a changed file of at least
// ChunkedMinSize, the agent names in Similar the blob the same path had
// in base. When the new blob is missing and the old one is here, the
// answer carries the old blob's chunk list (Chunks, see ChunkList). The
// agent chunks the new file the same way, and sends only the chunks the
// old blob lacks, as blobs, plus a Recipe: copy these ranges of the old
// blob, then this chunk, and so on. It names the recipe in the pack
// upload's assemble parameter; once the pack is stored the executor builds
// the file from the recipe and keeps it only if it hashes to its id (see
// IngestResponse.AssembleFailed). The assembled file is an ordinary blob,
// so run directories stay hardlinks to whole files.

// PlanRequest asks what a sync must send.
type PlanRequest struct {
	Snapshot string   `json:"snapshot"`
	Base     string   `json:"base,omitempty"`
	Blobs    []string `json:"blobs"`
	// Similar maps a blob of Blobs to a blob whose content is probably
	// close (the same path's in base), for large files.
	Similar map[string]string `json:"similar,omitempty"`
}

// PlanResponse says what the target lacks.
type PlanResponse struct {
	HaveSnapshot bool     `json:"have_snapshot"`
	HaveBase     bool     `json:"have_base"`
	Missing      []string `json:"missing"`
	// Chunks holds the chunk list (ChunkList encoding) of each blob named
	// in Similar that is here, for the missing blobs (bounded in total by
	// MaxPlanChunkBytes; a blob past it is just missing).
	Chunks map[string][]byte `json:"chunks,omitempty"`
}
