package runner

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/ferry-ml/ferry/conda"
	"github.com/ferry-ml/ferry/executor/api"
)

// Environment endpoints (see executor/api/env.go), served by Handler.

func (r *Runner) handleEnvList(w http.ResponseWriter, _ *http.Request) {
	cache, err := r.condaCache()
	if err != nil {
		writeRunError(w, err)
		return
	}
	ents, err := cache.List()
	if err != nil {
		writeRunError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, envInfos(ents))
}

func (r *Runner) handleEnvRemove(w http.ResponseWriter, req *http.Request) {
	cache, err := r.condaCache()
	if err != nil {
		writeRunError(w, err)
		return
	}
	ent, err := cache.Remove(req.PathValue("key"))
	switch {
	case errors.Is(err, conda.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, conda.ErrBusy):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, conda.ErrBadKey):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case err != nil:
		writeRunError(w, err)
	default:
		writeJSON(w, http.StatusOK, envInfo(ent))
	}
}

func (r *Runner) handleEnvPrune(w http.ResponseWriter, req *http.Request) {
	var pr api.PruneRequest
	if err := json.NewDecoder(io.LimitReader(req.Body, maxSpecBytes)).Decode(&pr); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "decode prune request: "+err.Error())
		return
	}
	cache, err := r.condaCache()
	if err != nil {
		writeRunError(w, err)
		return
	}
	removed, kept, err := cache.Prune(pr.Keep, pr.MaxSize)
	if err != nil {
		writeRunError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.PruneResponse{Removed: envInfos(removed), Kept: envInfos(kept)})
}

func envInfos(ents []conda.Entry) []api.EnvInfo {
	out := make([]api.EnvInfo, 0, len(ents))
	for _, e := range ents {
		out = append(out, envInfo(e))
	}
	return out
}

func envInfo(e conda.Entry) api.EnvInfo {
	return api.EnvInfo{Key: e.Key, Kind: api.EnvConda, Prefix: e.Prefix, Size: e.Size, Tool: e.Tool,
		CreatedAt: e.CreatedAt, LastUsed: e.LastUsed}
}
