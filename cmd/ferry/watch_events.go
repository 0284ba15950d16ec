package main

// ferry watch --json: one JSON line per event on stdout.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/ferry-ml/ferry/agent/watch"
	"github.com/ferry-ml/ferry/executor/api"
)

// watchEvent is one line of ferry watch --json. Fields an event does not
// carry are left out, except an end's exit_code (null: the script never
// ran).
type watchEvent struct {
	Event     string      `json:"event"` // start, status, end, stopped
	Time      time.Time   `json:"time"`
	Iteration int         `json:"iteration,omitempty"`
	ID        string      `json:"id,omitempty"`
	Changed   []string    `json:"changed,omitempty"`
	Status    api.Status  `json:"status,omitempty"`
	ExitCode  *exitCodeJS `json:"exit_code,omitempty"`
	DurationS *float64    `json:"duration_s,omitempty"`
	Reason    string      `json:"reason,omitempty"`
	Error     string      `json:"error,omitempty"`
}

// exitCodeJS marshals an exit code that may be null, so that an end event
// always carries the field.
type exitCodeJS struct{ code *int }

func (e exitCodeJS) MarshalJSON() ([]byte, error) { return json.Marshal(e.code) }

// watchEvents writes the events, one whole line at a time; a nil
// *watchEvents writes nothing.
type watchEvents struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newWatchEvents(w io.Writer) *watchEvents { return &watchEvents{enc: json.NewEncoder(w)} }

func (e *watchEvents) emit(ev watchEvent) {
	if e == nil {
		return
	}
	ev.Time = time.Now().UTC()
	e.mu.Lock()
	defer e.mu.Unlock()
	_ = e.enc.Encode(ev) // stdout gone: nothing left to tell
}

// start: iteration it.N, run id, is starting.
func (e *watchEvents) start(it watch.Iteration, id string) {
	e.emit(watchEvent{Event: "start", Iteration: it.N, ID: id, Changed: it.Changed})
}

// status: the target has run id, in status st (first as submitted, then
// each change seen until its script runs).
func (e *watchEvents) status(id string, st api.Status) {
	e.emit(watchEvent{Event: "status", ID: id, Status: st})
}

// end: run id ended as r (o carries the error and the duration shown).
func (e *watchEvents) end(id string, r api.Run, o watch.Outcome) {
	d := roundDuration(o.Duration).Seconds()
	ev := watchEvent{Event: "end", ID: id, Status: r.Status, ExitCode: &exitCodeJS{r.ExitCode},
		DurationS: &d, Reason: r.Reason}
	if o.Err != nil {
		ev.Error = o.Err.Error()
	}
	e.emit(ev)
}

// stopped: the watch ended, for why (the loop's error).
func (e *watchEvents) stopped(ctx context.Context, err error) {
	reason := "error"
	switch {
	case errors.Is(err, watch.ErrSourceGone):
		reason = "source gone"
	case ctx.Err() != nil:
		reason = "interrupted"
	}
	ev := watchEvent{Event: "stopped", Reason: reason}
	if err != nil && ctx.Err() == nil {
		ev.Error = err.Error()
	}
	e.emit(ev)
}
