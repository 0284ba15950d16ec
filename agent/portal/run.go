package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/executor/api"
)

// connectTimeout bounds reaching a target for a page action.
const connectTimeout = 30 * time.Second

// runView is one run's page.
type runView struct {
	Run      history.Record
	Env      []keyValue
	Metrics  metricsView
	Outputs  []outputView
	CanRerun bool
	Targets  []string
}

type keyValue struct{ Key, Value string }

// outputView is one output file with how the page shows it.
type outputView struct {
	api.OutputFile
	URL   string
	Image bool
}

func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.lookup(w, r)
	if !ok {
		return
	}
	s.page(w, r, "run.html", "Run "+rec.ID, "runs", s.runView(r.Context(), rec, true))
}

// handleRunSummary renders the run's header and details alone, fetched
// again by the page after each change event.
func (s *Server) handleRunSummary(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.lookup(w, r)
	if !ok {
		return
	}
	s.render(w, http.StatusOK, "run.html", "run-summary", page{CSRF: s.auth.csrf, Data: s.runView(r.Context(), rec, false)})
}

// handleRunMetrics renders the run's charts and tables alone.
func (s *Server) handleRunMetrics(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.lookup(w, r)
	if !ok {
		return
	}
	s.render(w, http.StatusOK, "run.html", "run-metrics", page{CSRF: s.auth.csrf, Data: s.runView(r.Context(), rec, true)})
}

// runView lays out rec's page; its metrics only withMetrics (a fragment
// that does not show them does not read them).
func (s *Server) runView(ctx context.Context, rec history.Record, withMetrics bool) runView {
	v := runView{Run: rec, CanRerun: s.cfg.Rerun != nil, Targets: s.targetNames()}
	env := rec.RedactedEnv()
	for _, k := range sortedKeys(env) {
		v.Env = append(v.Env, keyValue{k, env[k]})
	}
	for _, f := range rec.Outputs {
		u := "/runs/" + url.PathEscape(rec.ID) + "/outputs/" + escapePath(f.Path)
		v.Outputs = append(v.Outputs, outputView{OutputFile: f, URL: u, Image: f.Link == "" && imageType(f.Path) != ""})
	}
	if withMetrics {
		v.Metrics = s.metricsOf(ctx, rec.ID).build(v.Outputs)
	}
	return v
}

// metricsOf folds the stored metrics of run id; a read error is logged
// and what was read before it is shown.
func (s *Server) metricsOf(ctx context.Context, id string) *metricsFold {
	f := newMetricsFold()
	if err := s.cfg.History.EachMetric(ctx, id, f.add); err != nil {
		s.log.Warn("read metrics", "run_id", id, "error", err)
	}
	return f
}

// lookup finds the run named in the path, answering 404 when there is none.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (history.Record, bool) {
	id := r.PathValue("id")
	rec, err := s.cfg.History.Get(r.Context(), id)
	var amb *history.AmbiguousError
	switch {
	case errors.Is(err, history.ErrNotFound):
		s.fail(w, http.StatusNotFound, fmt.Sprintf("There is no run %q in the history.", id))
		return rec, false
	case errors.As(err, &amb):
		s.fail(w, http.StatusNotFound, err.Error())
		return rec, false
	case err != nil:
		s.fail(w, http.StatusInternalServerError, err.Error())
		return rec, false
	}
	return rec, true
}

// connect opens a connection to the named target's executor.
func (s *Server) connect(ctx context.Context, name string) (Conn, error) {
	t, err := s.cfg.Targets.Get(name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	c, err := s.cfg.Connector.Connect(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", name, err)
	}
	return c, nil
}

func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if err := s.cancel(r.Context(), rec); err != nil {
		s.fail(w, http.StatusBadGateway, err.Error())
		return
	}
	http.Redirect(w, r, "/runs/"+url.PathEscape(rec.ID), http.StatusSeeOther)
}

// cancel asks the run's executor to stop it and records what it says.
func (s *Server) cancel(ctx context.Context, rec history.Record) error {
	conn, err := s.connect(ctx, rec.Compute)
	if err != nil {
		return err
	}
	defer conn.Close()
	run, err := conn.Cancel(ctx, rec.ID)
	if err != nil {
		return err
	}
	if err := s.cfg.History.ApplyRun(ctx, run); err != nil {
		return fmt.Errorf("record run %s: %w", rec.ID, err)
	}
	return nil
}

func (s *Server) handleRerun(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if s.cfg.Rerun == nil {
		s.fail(w, http.StatusNotImplemented, "This ferry cannot rerun runs.")
		return
	}
	target := r.PostFormValue("compute")
	if target != "" {
		if err := compute.ValidateName(target); err != nil {
			s.fail(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	id, err := s.cfg.Rerun(r.Context(), rec, target)
	if err != nil {
		s.fail(w, http.StatusBadGateway, fmt.Sprintf("Rerun of %s: %v", rec.ID, err))
		return
	}
	http.Redirect(w, r, "/runs/"+url.PathEscape(id), http.StatusSeeOther)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// escapePath escapes each element of a "/"-separated path.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// imageType is the content type of an image the page may show inline, by
// extension; "" for anything else. SVG is left out on purpose: it can
// carry script.
func imageType(p string) string {
	switch strings.ToLower(path.Ext(p)) {
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".gif":
		return "image/gif"
	case ".webp":
		return "image/webp"
	}
	return ""
}
