package runner

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/ferry-ml/ferry/executor/api"
)

// maxSpecBytes caps a submitted RunSpec.
const maxSpecBytes = 1 << 20

// Handler serves the run endpoints listed in executor/api (run.go) under
// their full paths (/v1/runs and /v1/runs/...), and the environment cache's
// (env.go, /v1/envs...): mount it at "/v1/runs", "/v1/runs/", "/v1/envs"
// and "/v1/envs/" without stripping the prefix.
func (r *Runner) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/runs", r.handleCreate)
	mux.HandleFunc("GET /v1/runs", r.handleList)
	mux.HandleFunc("GET /v1/runs/{id}", r.handleGet)
	mux.HandleFunc("DELETE /v1/runs/{id}", r.handleRemove)
	mux.HandleFunc("POST /v1/runs/{id}/cancel", r.handleCancel)
	mux.HandleFunc("GET /v1/runs/{id}/log", r.handleLog)
	mux.HandleFunc("GET /v1/runs/{id}/metrics", r.handleMetrics)
	mux.HandleFunc("GET /v1/runs/{id}/outputs", r.handleOutputs)
	mux.HandleFunc("GET /v1/runs/{id}/files/{path...}", r.handleFile)
	mux.HandleFunc("GET /v1/envs", r.handleEnvList)
	mux.HandleFunc("DELETE /v1/envs/{key}", r.handleEnvRemove)
	mux.HandleFunc("POST /v1/envs/prune", r.handleEnvPrune)
	return mux
}

func (r *Runner) handleCreate(w http.ResponseWriter, req *http.Request) {
	var spec api.RunSpec
	dec := json.NewDecoder(io.LimitReader(req.Body, maxSpecBytes))
	if err := dec.Decode(&spec); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "decode run spec: "+err.Error())
		return
	}
	run, err := r.Create(req.Context(), spec)
	if err != nil {
		writeRunError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, run)
}

func (r *Runner) handleList(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, r.List())
}

func (r *Runner) handleGet(w http.ResponseWriter, req *http.Request) {
	run, err := r.Get(req.PathValue("id"))
	if err != nil {
		writeRunError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

func (r *Runner) handleCancel(w http.ResponseWriter, req *http.Request) {
	run, err := r.Cancel(req.Context(), req.PathValue("id"))
	if err != nil {
		writeRunError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

func (r *Runner) handleRemove(w http.ResponseWriter, req *http.Request) {
	if err := r.Remove(req.PathValue("id")); err != nil {
		writeRunError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// writeRunError maps the runner's errors to status codes.
func writeRunError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrRunNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, ErrRunExists), errors.Is(err, ErrRunNotEnded), errors.Is(err, ErrRunGoing):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, ErrInvalidRunID), errors.Is(err, ErrInvalidSpec), errors.Is(err, errBadPath):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
	default:
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
	}
}

func writeError(w http.ResponseWriter, code int, kind, msg string) {
	writeJSON(w, code, api.Error{Code: kind, Message: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	// The status line is out; an encoding error can only be a gone client.
	_ = json.NewEncoder(w).Encode(v)
}
