// Package runner supervises runs inside the executor daemon.
//
// It follows the conmon / containerd-shim pattern: every run gets a small
// supervisor process, the shim ("ferry-executor shim --run-dir D"), started
// in its own session so that it outlives both the SSH session and the daemon.
// The shim starts the script in its own process group with stdout and stderr
// opened directly on the run's log file (O_APPEND, no pipe through any ferry
// process), becomes the child subreaper of everything the script spawns,
// enforces cancellation and the time limit, kills every remaining descendant
// once the script ends, and records the outcome in exit.json. The daemon only
// watches shims: while it lives they are its children; after a restart,
// Recover re-adopts the ones still alive.
//
// On-disk layout under Config.StateDir:
//
//	lib/python/ferry_run.py   the metrics helper (and Azure ML's Run), importable by every run
//	lib/python/sitecustomize.py  resolves azureml.core to ferry_run when it is not installed
//	runs/<id>/run.json        the api.Run record (temp file + rename)
//	runs/<id>/log             the script's stdout+stderr, append-only
//	runs/<id>/work/           the materialised snapshot, the working directory
//	runs/<id>/work/outputs/   FERRY_OUTPUTS_DIR
//	runs/<id>/metrics.jsonl   FERRY_METRICS_FILE, one JSON metric per line
//	runs/<id>/metrics.kept.jsonl  the metrics kept when the run ended (parsed,
//	                          normalised, capped; served by GET .../metrics)
//	runs/<id>/shim.json       how the shim starts the script (written by the runner)
//	runs/<id>/shim.pid        the shim's pid and start time (written by the shim)
//	runs/<id>/shim.log        the shim's own diagnostics (hclog JSON)
//	runs/<id>/exit.json       the outcome (written by the shim, temp file + rename)
//	runs.removing/<id>.N/run  a removed run's directory while its files are
//	                          deleted (DELETE /v1/runs/<id>; leftovers go at start)
//
// Run state machine (persisted in run.json at each step):
//
//	Queued -> Preparing -> Running -> Completed | Failed | Canceled
//	   \__________\____________\______> Failed | Canceled
//
// Preparing materialises the snapshot, resolves the interpreter and checks
// the script; any failure there ends the run Failed with the reason written
// both to the record and to the run's log.
package runner
