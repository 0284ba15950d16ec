package api

// ProtocolVersion is the wire protocol version. It changes only when the
// protocol changes, independently of the release version. The agent requires
// an exact match and replaces an executor that disagrees.
//
// 2: packs may be zstd-compressed (PackMagicZstd).
// 3: large changed files travel as chunks and a recipe (recipe.go).
// 4: a run's metrics are read from GET /v1/runs/{id}/metrics; Run carries
// only their summary (MetricsInfo).
// 5: the protocol line may end in EmptyStore.
const ProtocolVersion = 5

// Magic starts the first line the executor prints on stdout when it is
// started by the agent ("ferry-executor ensure"), so that shell noise from rc
// files can never be mistaken for protocol.
const Magic = "FERRY-EXECUTOR"

// EmptyStore ends the protocol line when the store holds no blob and no
// snapshot: the agent then knows a sync's plan without asking for it.
const EmptyStore = "empty"

// Hello is the response of GET /v1/hello.
type Hello struct {
	Protocol int    `json:"protocol"`
	Version  string `json:"version"` // buildinfo.String() of the executor
	PID      int    `json:"pid"`
	StateDir string `json:"state_dir"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
}

// Error is the body of every non-2xx response.
type Error struct {
	Code    string `json:"code"` // stable, machine-readable: "not_found", "bad_request", "corrupt", ...
	Message string `json:"message"`
}
