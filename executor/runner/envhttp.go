package runner

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/ferry-ml/ferry/conda"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/docker"
)

// dockerProbeTimeout bounds the check for a docker engine before the
// environment endpoints list its images.
const dockerProbeTimeout = 5 * time.Second

// Environment endpoints (see executor/api/env.go), served by Handler.

func (r *Runner) handleEnvList(w http.ResponseWriter, req *http.Request) {
	set, closeSet, err := r.openEnvs(req.Context())
	if err != nil {
		writeRunError(w, err)
		return
	}
	defer closeSet()
	envs, err := set.list(req.Context())
	if err != nil {
		writeRunError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, envs)
}

func (r *Runner) handleEnvRemove(w http.ResponseWriter, req *http.Request) {
	set, closeSet, err := r.openEnvs(req.Context())
	if err != nil {
		writeRunError(w, err)
		return
	}
	defer closeSet()
	e, err := set.remove(req.Context(), req.PathValue("key"))
	switch {
	case errors.Is(err, errEnvNotFound), errors.Is(err, conda.ErrNotFound), errors.Is(err, docker.ErrImageNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, conda.ErrBusy), errors.Is(err, docker.ErrImageInUse):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, errEnvKey), errors.Is(err, errEnvAmbiguous), errors.Is(err, conda.ErrBadKey):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case err != nil:
		writeRunError(w, err)
	default:
		writeJSON(w, http.StatusOK, e)
	}
}

func (r *Runner) handleEnvPrune(w http.ResponseWriter, req *http.Request) {
	var pr api.PruneRequest
	if err := json.NewDecoder(io.LimitReader(req.Body, maxSpecBytes)).Decode(&pr); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "decode prune request: "+err.Error())
		return
	}
	set, closeSet, err := r.openEnvs(req.Context())
	if err != nil {
		writeRunError(w, err)
		return
	}
	defer closeSet()
	removed, kept, err := set.prune(req.Context(), pr.Keep, pr.MaxSize)
	if err != nil {
		writeRunError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.PruneResponse{Removed: removed, Kept: kept})
}

// openEnvs opens the target's environments: the conda cache and, when an
// engine answers, the docker images. closeSet releases the engine's
// connection.
func (r *Runner) openEnvs(ctx context.Context) (set *envSet, closeSet func(), err error) {
	cache, err := r.condaCache()
	if err != nil {
		return nil, nil, err
	}
	pip, err := r.pipCache()
	if err != nil {
		return nil, nil, err
	}
	set = &envSet{conda: cache, pip: pip, uses: r.imageUses(), log: r.log}
	c, err := r.envEngine(ctx)
	if err != nil {
		return nil, nil, err
	}
	if c == nil {
		return set, func() {}, nil
	}
	set.images = c
	return set, func() { c.Close() }, nil
}

// envEngine connects to the docker engine for the environment endpoints.
// A target need not have one: without an engine that answers it returns
// nil and says why in a debug log.
func (r *Runner) envEngine(ctx context.Context) (*docker.Client, error) {
	c, err := docker.New(r.log.Named("docker"))
	if err != nil {
		r.log.Debug("docker images not listed: no docker client", "error", err)
		return nil, nil
	}
	pctx, cancel := context.WithTimeout(ctx, dockerProbeTimeout)
	defer cancel()
	if _, err := c.Ping(pctx); err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r.log.Debug("docker images not listed: engine not reachable", "error", err)
		return nil, nil
	}
	return c, nil
}

func envInfos(ents []conda.Entry, kind string) []api.EnvInfo {
	out := make([]api.EnvInfo, 0, len(ents))
	for _, e := range ents {
		out = append(out, envInfo(e, kind))
	}
	return out
}

func envInfo(e conda.Entry, kind string) api.EnvInfo {
	return api.EnvInfo{Key: e.Key, Kind: kind, Prefix: e.Prefix, Size: e.Size, Tool: e.Tool,
		CreatedAt: e.CreatedAt, LastUsed: e.LastUsed}
}
