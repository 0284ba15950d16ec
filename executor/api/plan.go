package api

// Endpoints for the fast sync path.
//
//	POST /v1/sync/plan          PlanRequest -> PlanResponse
//	POST /v1/packs              a pack (pack.go) as the request body -> IngestResponse
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

// PlanRequest asks what a sync must send.
type PlanRequest struct {
	Snapshot string   `json:"snapshot"`
	Base     string   `json:"base,omitempty"`
	Blobs    []string `json:"blobs"`
}

// PlanResponse says what the target lacks.
type PlanResponse struct {
	HaveSnapshot bool     `json:"have_snapshot"`
	HaveBase     bool     `json:"have_base"`
	Missing      []string `json:"missing"`
}
