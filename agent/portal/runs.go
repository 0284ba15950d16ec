package portal

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/executor/api"
)

// runsLimit is how many runs the table shows (newest first).
const runsLimit = 200

// statuses are the run status words, for the filter.
var statuses = []api.Status{api.StatusQueued, api.StatusPreparing, api.StatusRunning,
	api.StatusCompleted, api.StatusFailed, api.StatusCanceled}

// runsView is the runs page.
type runsView struct {
	Filter      history.Filter
	Query       string // the filter as a query string, for the table's refresh
	Runs        []history.Record
	Limited     bool
	Experiments []string
	Targets     []string
	Statuses    []api.Status
	Version     uint64
}

func (s *Server) handleRuns(w http.ResponseWriter, r *http.Request) {
	v, err := s.runsView(r)
	if err != nil {
		s.fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.page(w, r, "runs.html", "Runs", "runs", v)
}

// handleRunsTable renders the table's rows alone: the page fetches it
// again after each change event.
func (s *Server) handleRunsTable(w http.ResponseWriter, r *http.Request) {
	v, err := s.runsView(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.render(w, http.StatusOK, "runs.html", "runs-rows", v)
}

func (s *Server) runsView(r *http.Request) (runsView, error) {
	q := r.URL.Query()
	f := history.Filter{Experiment: q.Get("experiment"), Compute: q.Get("compute"),
		Status: api.Status(q.Get("status")), Limit: runsLimit + 1}
	v := runsView{Filter: f, Statuses: statuses, Version: s.changes.Version(), Query: filterQuery(f)}
	runs, err := s.cfg.History.List(r.Context(), f)
	if err != nil {
		return v, fmt.Errorf("list runs: %w", err)
	}
	if len(runs) > runsLimit {
		runs, v.Limited = runs[:runsLimit], true
	}
	v.Runs = runs
	if v.Experiments, err = s.cfg.History.Experiments(r.Context()); err != nil {
		return v, fmt.Errorf("list experiments: %w", err)
	}
	v.Targets = s.targetNames()
	return v, nil
}

// targetNames lists the attached targets, plus any a recorded run names.
func (s *Server) targetNames() []string {
	ts, err := s.cfg.Targets.List()
	if err != nil {
		s.log.Warn("list compute targets", "error", err)
	}
	var names []string
	for _, t := range ts {
		names = append(names, t.Name)
	}
	return slices.Compact(names)
}

func filterQuery(f history.Filter) string {
	q := url.Values{}
	for k, v := range map[string]string{"experiment": f.Experiment, "compute": f.Compute, "status": string(f.Status)} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

// handleEvents is a server-sent event stream with one "change" event (its
// data: the change count) each time the run history changes. Pages listen
// to it and fetch what they show again.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	sse, ok := newSSE(w)
	if !ok {
		return
	}
	ch, stop := s.changes.subscribe()
	defer stop()
	sse.event("hello", "", fmt.Sprint(s.changes.Version()))
	for {
		select {
		case <-r.Context().Done():
			return
		case v := <-ch:
			if sse.event("change", "", fmt.Sprint(v)) != nil {
				return
			}
		}
	}
}
