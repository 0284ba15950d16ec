package watch

// DefaultKeepRuns is how many of a watch's ended runs keep their
// directory on the target by default.
const DefaultKeepRuns = 3

// Retention decides which of a watch's runs leave the target. Every save
// is a run, and every run a directory on the target holding a tree of the
// snapshot (a full copy where the executor runs as root), so a long watch
// would fill the target's disk. Retention keeps the directories of the
// newest keep runs whose log, metrics and outputs are all in the local
// history, and names the older ones for removal; a run that left
// anything only on the target (outputs over the size cap, a log not
// kept) is never named. It is not safe for concurrent use.
type Retention struct {
	keep  int      // < 0: keep all
	ended []string // kept runs still on the target, oldest first
}

// NewRetention keeps the newest keep runs (keep < 0: all of them).
func NewRetention(keep int) *Retention { return &Retention{keep: keep} }

// Ended records that run id ended; kept says whether the local history
// holds all it left. It returns the runs to remove from the target now,
// oldest first.
func (r *Retention) Ended(id string, kept bool) []string {
	if r.keep < 0 || !kept {
		return nil
	}
	r.ended = append(r.ended, id)
	if len(r.ended) <= r.keep {
		return nil
	}
	n := len(r.ended) - r.keep
	out := append([]string(nil), r.ended[:n]...)
	r.ended = append(r.ended[:0], r.ended[n:]...)
	return out
}
