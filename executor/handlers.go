package executor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/snapshot"
)

// maxJSONBody bounds request bodies (a Missing request for 1M blobs is
// about 70 MB).
const maxJSONBody = 256 << 20

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/hello", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.hello())
	})
	mux.HandleFunc("POST /v1/shutdown", s.handleShutdown)
	mux.HandleFunc("POST /v1/blobs/missing", s.handleMissing)
	mux.HandleFunc("POST /v1/packs/ingest", s.handleIngest)
	mux.HandleFunc("PUT /v1/snapshots/{id}", s.handlePutSnapshot)
	mux.HandleFunc("POST /v1/sync/plan", s.handlePlan)
	mux.HandleFunc("POST /v1/packs", s.handlePackStream)
	mux.HandleFunc("GET /v1/snapshots/{id}", s.handleGetSnapshot)
	mux.HandleFunc("GET /v1/blobs/{id}", s.handleGetBlob)
	if s.cfg.Runs != nil {
		mux.Handle("/v1/runs", s.cfg.Runs)
		mux.Handle("/v1/runs/", s.cfg.Runs)
		mux.Handle("/v1/envs", s.cfg.Runs) // the runner owns the environment cache
		mux.Handle("/v1/envs/", s.cfg.Runs)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, api.Error{Code: "not_found", Message: "no endpoint " + r.Method + " " + r.URL.Path})
	})
	return mux
}

func (s *Server) handleShutdown(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.hello())
	s.stopOnce.Do(func() { close(s.stop) })
}

func (s *Server) handleMissing(w http.ResponseWriter, r *http.Request) {
	var req api.MissingRequest
	if !s.readJSON(w, r, &req) {
		return
	}
	missing, err := s.store.Missing(r.Context(), req.Blobs, req.Verify)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.MissingResponse{Missing: missing})
}

func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) {
	var req api.IngestRequest
	if !s.readJSON(w, r, &req) {
		return
	}
	resp, err := s.store.Ingest(r.Context(), req.Packs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handlePutSnapshot(w http.ResponseWriter, r *http.Request) {
	base := r.URL.Query().Get("base")
	data, err := readManifest(w, r, base == "")
	if err != nil {
		s.fail(w, r, &RequestError{Err: fmt.Errorf("read manifest: %w", err)})
		return
	}
	var resp api.SnapshotResponse
	if base != "" {
		resp, err = s.store.PutSnapshotDelta(r.Context(), r.PathValue("id"), base, data)
	} else {
		resp, err = s.store.PutSnapshot(r.Context(), r.PathValue("id"), data)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// readManifest reads a manifest (full: checking its header first, so that
// one over snapshot.MaxEntries is refused before the rest is read) or a
// delta, either at most snapshot.MaxManifestBytes.
func readManifest(w http.ResponseWriter, r *http.Request, full bool) ([]byte, error) {
	if r.ContentLength > snapshot.MaxManifestBytes {
		return nil, fmt.Errorf("%d bytes, the limit is %d", r.ContentLength, snapshot.MaxManifestBytes)
	}
	body := http.MaxBytesReader(w, r.Body, snapshot.MaxManifestBytes)
	var buf bytes.Buffer
	if full {
		if _, err := io.CopyN(&buf, body, snapshot.ManifestHeaderLen); err != nil {
			return nil, err
		}
		if err := snapshot.CheckManifestHeader(buf.Bytes()); err != nil {
			return nil, err
		}
	}
	if _, err := buf.ReadFrom(body); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (s *Server) handleGetSnapshot(w http.ResponseWriter, r *http.Request) {
	data, err := s.store.Snapshot(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(data)
}

func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody)).Decode(v); err != nil {
		s.fail(w, r, &RequestError{Err: fmt.Errorf("decode request: %w", err)})
		return false
	}
	return true
}

// fail maps err to a status and an api.Error body.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := http.StatusInternalServerError, "internal"
	var missing *MissingBlobsError
	var reqErr *RequestError
	switch {
	case errors.As(err, &missing):
		writeJSON(w, http.StatusConflict, api.MissingBlobs{
			Error:   api.Error{Code: api.CodeMissingBlobs, Message: err.Error()},
			Missing: missing.Missing,
		})
		return
	case errors.As(err, &reqErr):
		status, code = http.StatusBadRequest, "bad_request"
	case errors.Is(err, ErrNotFound):
		status, code = http.StatusNotFound, "not_found"
	case errors.Is(err, ErrNoSpace):
		status, code = http.StatusInsufficientStorage, api.CodeNoSpace
	case errors.Is(err, api.ErrPackCorrupt):
		status, code = http.StatusUnprocessableEntity, api.CodeCorrupt
	case r.Context().Err() != nil:
		status, code = 499, "canceled"
	}
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", status, "error", err)
	}
	writeError(w, status, api.Error{Code: code, Message: err.Error()})
}

func writeError(w http.ResponseWriter, status int, e api.Error) {
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) handlePlan(w http.ResponseWriter, r *http.Request) {
	var req api.PlanRequest
	if !s.readJSON(w, r, &req) {
		return
	}
	resp, err := s.store.Plan(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handlePackStream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	resp, err := s.store.IngestStream(r.Context(), r.Body, q["assemble"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if id := q.Get("snapshot"); id != "" {
		stored, err := s.store.CommitFromBlob(r.Context(), id, q.Get("base"), q.Get("manifest"))
		if err != nil {
			s.log.Debug("snapshot named with a pack not stored; the agent stores it", "snapshot", id[:min(12, len(id))], "error", err)
			resp.CommitError = err.Error()
		} else {
			resp.StoredSnapshot = &stored
		}
	}
	writeJSON(w, http.StatusOK, resp)
}
