// Package agent is ferry's run lifecycle on the laptop: it connects to a
// compute target's executor (installing it when missing), syncs snapshots
// to it, submits runs, follows their logs and records them in the local
// history. Subpackages hold the pieces with one job each: compute (the
// target registry), history (the run database), gitinfo, outputs.
package agent
