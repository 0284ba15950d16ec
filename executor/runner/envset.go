package runner

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/ferry-ml/ferry/conda"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/docker"
	"github.com/hashicorp/go-hclog"
)

// Errors of envSet.remove besides those of the conda cache and the engine.
var (
	errEnvNotFound  = errors.New("environment not found")
	errEnvAmbiguous = errors.New("key prefix matches several environments")
	errEnvKey       = errors.New("not an environment key or a prefix of 12+ of its characters")
)

// envKeyRE matches what envSet.remove takes: a key or a prefix of one of
// at least 12 characters.
var envKeyRE = regexp.MustCompile(`^[0-9a-f]{12,64}$`)

// envImages is the part of the docker client the environment endpoints use.
type envImages interface {
	ListImages(ctx context.Context) ([]docker.ImageInfo, error)
	RemoveImage(ctx context.Context, key string) error
	InspectBase(ctx context.Context, ref string) (docker.ImageInfo, error)
}

var _ envImages = (*docker.Client)(nil)

// envSet is the target's cached environments of every kind: the conda
// cache's prefixes, the pip venvs and the docker engine's derived images.
// Last use orders them together.
type envSet struct {
	conda  *conda.Cache
	pip    *conda.Cache // pip venvs, kept by the same cache code (nil in tests without one)
	images envImages    // nil when no engine answers
	uses   imageUses
	log    hclog.Logger
}

// list returns every environment, least recently used first.
func (s *envSet) list(ctx context.Context) ([]api.EnvInfo, error) {
	ents, err := s.conda.List()
	if err != nil {
		return nil, err
	}
	out := envInfos(ents, api.EnvConda)
	if s.pip != nil {
		pips, err := s.pip.List()
		if err != nil {
			return nil, err
		}
		out = append(out, envInfos(pips, api.EnvPip)...)
	}
	if s.images != nil {
		imgs, err := s.images.ListImages(ctx)
		if err != nil {
			return nil, fmt.Errorf("list docker environments: %w", err)
		}
		for _, img := range imgs {
			if e, ok := s.imageInfo(img); ok {
				out = append(out, e)
			}
		}
		bases, err := s.baseImages(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, bases...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].LastUsed.Before(out[j].LastUsed) })
	return out, nil
}

// imageInfo describes a derived image as an environment when this executor
// has built or run it (it holds a use record): on a shared engine, images
// other executors made are theirs to list and remove.
func (s *envSet) imageInfo(img docker.ImageInfo) (api.EnvInfo, bool) {
	t, ok := s.uses.lastUsed(img.Key)
	if !ok {
		return api.EnvInfo{}, false
	}
	return api.EnvInfo{Key: img.Key, Kind: api.EnvDocker, Prefix: img.Ref, Size: img.Size, Tool: api.EnvDocker,
		CreatedAt: img.CreatedAt, LastUsed: t}, true
}

// baseImages lists the base images this executor ran as they are, which
// the engine still has.
func (s *envSet) baseImages(ctx context.Context) ([]api.EnvInfo, error) {
	var out []api.EnvInfo
	for key, ref := range s.uses.bases() {
		img, err := s.images.InspectBase(ctx, ref)
		if errors.Is(err, docker.ErrImageNotFound) {
			continue // removed outside ferry
		}
		if err != nil {
			return nil, fmt.Errorf("list docker environments: %w", err)
		}
		t, _ := s.uses.lastUsed(key)
		out = append(out, api.EnvInfo{Key: key, Kind: api.EnvDocker, Prefix: ref, Size: img.Size, Tool: api.EnvDocker,
			CreatedAt: img.CreatedAt, LastUsed: t, Base: true})
	}
	return out, nil
}

// remove deletes the one environment whose key starts with key (12+
// characters). A full key that lists nothing may still name an incomplete
// conda prefix, which the conda cache removes.
func (s *envSet) remove(ctx context.Context, key string) (api.EnvInfo, error) {
	if !envKeyRE.MatchString(key) {
		return api.EnvInfo{}, fmt.Errorf("remove environment %q: %w", key, errEnvKey)
	}
	all, err := s.list(ctx)
	if err != nil {
		return api.EnvInfo{}, err
	}
	e, err := matchEnv(all, key)
	if errors.Is(err, errEnvNotFound) && len(key) == 64 {
		ent, err := s.conda.Remove(key)
		if errors.Is(err, conda.ErrNotFound) && s.pip != nil {
			ent, err = s.pip.Remove(key)
			return envInfo(ent, api.EnvPip), err
		}
		return envInfo(ent, api.EnvConda), err
	}
	if err != nil {
		return api.EnvInfo{}, err
	}
	return e, s.removeEntry(ctx, e)
}

// removeEntry deletes the listed environment e.
func (s *envSet) removeEntry(ctx context.Context, e api.EnvInfo) error {
	switch e.Kind {
	case api.EnvConda:
		_, err := s.conda.Remove(e.Key)
		return err
	case api.EnvPip:
		_, err := s.pip.Remove(e.Key)
		return err
	}
	if e.Base {
		return s.uses.forgetBase(e.Key) // the image is the user's
	}
	if s.images == nil {
		return fmt.Errorf("remove docker image %s: no docker engine", e.Prefix)
	}
	if err := s.images.RemoveImage(ctx, e.Key); err != nil {
		return err
	}
	if err := s.uses.forget(e.Key); err != nil {
		// The image is gone; a stale record only dates a rebuild's first use.
		s.log.Warn("forget docker image use", "image", e.Prefix, "error", err)
	}
	return nil
}

// prune removes environments of both kinds, least recently used first,
// beyond keep and maxSize (see planPrune). Those in use (a conda build, a
// container of the image) are kept; those already gone are left out.
func (s *envSet) prune(ctx context.Context, keep int, maxSize int64) (removed, kept []api.EnvInfo, err error) {
	all, err := s.list(ctx)
	if err != nil {
		return nil, nil, err
	}
	built := slices.DeleteFunc(all, func(e api.EnvInfo) bool { return e.Base }) // base images are the user's
	drop, kept := planPrune(built, keep, maxSize)
	removed = []api.EnvInfo{}
	for _, e := range drop {
		err := s.removeEntry(ctx, e)
		switch {
		case errors.Is(err, conda.ErrBusy), errors.Is(err, docker.ErrImageInUse):
			kept = append(kept, e)
		case errors.Is(err, conda.ErrNotFound), errors.Is(err, docker.ErrImageNotFound):
			// Removed by someone else meanwhile: neither ours nor kept.
		case err != nil:
			return removed, kept, err
		default:
			removed = append(removed, e)
		}
	}
	return removed, kept, nil
}

// planPrune splits envs (least recently used first) into those to drop and
// those to keep: going from the most recently used, an environment is kept
// while fewer than keep are (keep < 0: any number) and the kept ones take
// at most maxSize bytes (0: any size). Both lists run newest first.
func planPrune(envs []api.EnvInfo, keep int, maxSize int64) (drop, kept []api.EnvInfo) {
	kept = []api.EnvInfo{}
	var total int64
	for i := len(envs) - 1; i >= 0; i-- {
		e := envs[i]
		if (keep < 0 || len(kept) < keep) && (maxSize == 0 || total+e.Size <= maxSize) {
			kept, total = append(kept, e), total+e.Size
			continue
		}
		drop = append(drop, e)
	}
	return drop, kept
}

// matchEnv finds the one environment whose key starts with prefix.
func matchEnv(envs []api.EnvInfo, prefix string) (api.EnvInfo, error) {
	var found []api.EnvInfo
	for _, e := range envs {
		if strings.HasPrefix(e.Key, prefix) {
			found = append(found, e)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return api.EnvInfo{}, fmt.Errorf("environment %s: %w", prefix, errEnvNotFound)
	}
	return api.EnvInfo{}, fmt.Errorf("environment %s: %w (%d)", prefix, errEnvAmbiguous, len(found))
}
