package watch

import "time"

// Default debounce settings.
//
// Quiet: one editor save is a burst of events a few milliseconds apart (vim
// with backups: about ten; an editor that writes a temp file and renames it
// over: three to five), and a `git checkout` of 200 files is some 800
// events within tens of milliseconds. 100 ms of quiet outlasts the gaps
// inside such bursts even on a loaded 2-core machine, yet is a fifth of
// the 500 ms budget from save to the new run's first output.
//
// MaxWait: a tree that never goes quiet (a build writing into the source
// directory) still gets a snapshot every second, so a rerun is never put
// off indefinitely.
//
// Settle: after this much quiet the loop takes an early snapshot (and
// uploads it) while the rest of Quiet runs out; the run uses it when no
// event came since. An editor's save is over by then, most often.
const (
	DefaultQuiet   = 100 * time.Millisecond
	DefaultMaxWait = time.Second
	DefaultSettle  = 15 * time.Millisecond
)

// Debouncer coalesces a stream of events into single firings: it is due
// once Quiet has passed since the last event, or MaxWait since the first
// event of the burst, whichever comes first. It holds no timer and no
// goroutine (the caller owns both, and the clock), so it is tested with
// plain time values. Not safe for concurrent use.
type Debouncer struct {
	Quiet   time.Duration
	MaxWait time.Duration

	first, last time.Time
	pending     bool
}

// Add records an event at now.
func (d *Debouncer) Add(now time.Time) {
	if !d.pending {
		d.first, d.pending = now, true
	}
	d.last = now
}

// Pending reports whether events are waiting to fire.
func (d *Debouncer) Pending() bool { return d.pending }

// Due returns when the pending burst fires; ok is false when nothing is
// pending.
func (d *Debouncer) Due() (at time.Time, ok bool) {
	if !d.pending {
		return time.Time{}, false
	}
	at = d.last.Add(d.Quiet)
	if limit := d.first.Add(d.MaxWait); d.MaxWait > 0 && limit.Before(at) {
		at = limit
	}
	return at, true
}

// Fire reports whether the pending burst is due at now and, if so, starts
// over with nothing pending.
func (d *Debouncer) Fire(now time.Time) bool {
	at, ok := d.Due()
	if !ok || now.Before(at) {
		return false
	}
	d.pending = false
	return true
}
