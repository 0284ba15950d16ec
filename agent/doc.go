// Package agent is ferry's run lifecycle on the laptop: it connects to a
// compute target's executor (installing it when missing), syncs snapshots
// to it, submits runs, follows their logs and records them in the local
// history. Subpackages hold the pieces with one job each: compute (the
// target registry), history (the run database), gitinfo, outputs.
//
// # One lifecycle for every front end
//
// ferry run, ferry watch, ferry rerun, ferry logs -f, ferry runs --refresh
// and the portal (ferry ui) all drive runs through a Runner; they differ
// only in their Hooks (what they print) and options. Build one per history:
//
//	runner := &agent.Runner{History: hist, Outputs: store, Manifests: manifests,
//		Logger: logger, Hooks: agent.Hooks{...}}
//
// A Remote is a connection to one target's executor; *Conn is the real
// one (agent.Connect). A Dialer opens one by target name. Calls on one
// *Conn are not concurrent (Cancel beside Follow excepted): a portal
// opens one per request or stream.
//
//   - Start a run: Launch(ctx, connect, plan, manifest, stop) records the
//     run (Queued), syncs, submits and returns the started api.Run; a
//     failure is recorded Failed. Plan comes from the CLI's flags
//     (ResolveEnvironment resolves the environment part) or RerunPlan.
//   - Rerun: StartRerun(ctx, dial, rec, RerunOptions{Compute, Args})
//     launches a new run of rec's snapshot (its manifest is kept under
//     Manifests at every launch; the content comes from the cheapest of
//     the target itself, unchanged local files, the local store, the
//     original target), links it by RerunOf, and follows it to its end
//     in a goroutine that records the outcome. A *MissingFilesError names
//     what could not be found. The CLI uses the pieces (RerunPlan,
//     RerunManifest, RerunBlobs, Launch) to print as it goes.
//   - Stream a log (any number of viewers): Follow(ctx, remote, id,
//     offset, w, nil) copies the log from byte offset to w until the run
//     ends, across dropped connections, each byte once; it returns the
//     final api.Run. For server-sent events, give w a writer that frames
//     each chunk and use offset+bytes written as the event id, so that a
//     browser's Last-Event-ID resumes exactly. The end of ctx (the request)
//     only stops streaming; the run goes on.
//   - Cancel: remote.Cancel(ctx, id), then History.ApplyRun of the result;
//     or close Follow's stop channel to cancel and follow to the end.
//   - Finish: Finish(ctx, remote, run) records the final status, keeps the
//     log and metrics (KeepEnded; history.Store's EachMetric reads them one
//     at a time) and collects outputs/ (Finished.Outputs, OutputsErr).
//   - List and get runs: history.Store's List(ctx, Filter) and Get(ctx,
//     id or unique prefix); Refresh(ctx, remote, rec) and RefreshAll(ctx,
//     dial, recs, unreachable) bring unfinished records up to date.
package agent
