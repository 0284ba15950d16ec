// Package engine is a small client of the Docker Engine API: only the calls
// ferry's docker environments make (images: inspect, pull, build, list,
// remove; containers: create, attach, start, wait, stop, remove, inspect;
// the engine's version), over the engine's unix socket or TCP with TLS.
//
// It stands in for Docker's Go SDK, which brought 1.1 MB (OpenTelemetry, the
// whole API's types) into an executor binary that first contact sends over
// the link. What it keeps of the SDK's behaviour:
//
//   - the engine is named by DOCKER_HOST (default unix:///var/run/docker.sock),
//     DOCKER_TLS_VERIFY and DOCKER_CERT_PATH ([FromEnv]); unlike the SDK, a TLS
//     connection always verifies the engine's certificate;
//   - the API version is negotiated on the first call (the engine's
//     API-Version from /_ping, capped at [MaxAPIVersion]), or pinned by
//     DOCKER_API_VERSION, so Engine 20.10 (API 1.41) and Engine 29
//     (API >= 1.44) both work;
//   - an error the engine answers with carries its HTTP status and message
//     ([Error], [IsNotFound], [IsConflict]); a socket that cannot be reached
//     is a [ConnectError];
//   - an attached container's output is the engine's multiplexed stream,
//     which [Demux] unpacks.
//
// The API is documented at https://docs.docker.com/reference/api/engine/.
package engine
