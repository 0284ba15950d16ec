package runner

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"

	"github.com/ferry-ml/ferry/executor/api"
)

// ErrRunNotEnded is returned by OpenMetrics for a run that has not ended:
// its metrics are kept when it ends.
var ErrRunNotEnded = errors.New("run has not ended; its metrics are kept when it ends")

// OpenMetrics opens the kept metrics of run id, which has ended (JSON
// lines, see keepMetrics); the caller closes the file. A run that ended
// under an older executor, which kept none, has them kept now.
func (r *Runner) OpenMetrics(id string) (*os.File, error) {
	r.mu.Lock()
	st, ok := r.runs[id]
	var ended bool
	if ok {
		ended = st.rec.Status.Terminal()
	}
	r.mu.Unlock()
	switch {
	case !ok:
		return nil, fmt.Errorf("metrics of run %s: %w", id, ErrRunNotFound)
	case !ended:
		return nil, fmt.Errorf("metrics of run %s: %w", id, ErrRunNotEnded)
	}
	f, err := os.Open(st.paths.kept())
	if errors.Is(err, fs.ErrNotExist) {
		if _, _, err := keepMetrics(metricsSources(st), st.paths.kept(), defaultLimits, r.log.With("run_id", id)); err != nil {
			return nil, fmt.Errorf("metrics of run %s: %w", id, err)
		}
		f, err = os.Open(st.paths.kept())
	}
	if err != nil {
		return nil, fmt.Errorf("metrics of run %s: %w", id, err)
	}
	return f, nil
}

// handleMetrics serves GET /v1/runs/{id}/metrics?offset=N: the kept
// metrics from byte offset N, with their whole size in a header.
func (r *Runner) handleMetrics(w http.ResponseWriter, req *http.Request) {
	offset, err := parseOffset(req.URL.Query().Get("offset"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	f, err := r.OpenMetrics(req.PathValue("id"))
	if err != nil {
		writeRunError(w, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		writeRunError(w, fmt.Errorf("stat metrics: %w", err))
		return
	}
	if offset > fi.Size() {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("offset %d is past the metrics' end (%d)", offset, fi.Size()))
		return
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		writeRunError(w, fmt.Errorf("seek metrics: %w", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("Content-Length", strconv.FormatInt(fi.Size()-offset, 10))
	h.Set(api.MetricsSizeHeader, strconv.FormatInt(fi.Size(), 10))
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, io.LimitReader(f, fi.Size()-offset))
}
