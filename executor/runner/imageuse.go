package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/conda"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/fsutil"
)

// usedSuffix names an image's use marker: <key>.used.
const usedSuffix = ".used"

// imageKeyRE matches a docker image key: 64 lower-case hex digits.
var imageKeyRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// imageUses records when this executor last used each derived docker image,
// as the mtime of an empty file <dir>/<key>.used, because the engine keeps
// no such time. The directory is private (0700), the files 0600.
type imageUses string

// imageUses returns the executor's record of docker image uses, beside the
// conda cache: <state>/envs/docker.
func (r *Runner) imageUses() imageUses {
	return imageUses(filepath.Join(filepath.Dir(r.runsDir), envsDirName, api.EnvDocker))
}

// touch records a use of the image of key now.
func (u imageUses) touch(key string) error {
	p, err := u.path(key)
	if err != nil {
		return err
	}
	now := time.Now()
	if err := os.Chtimes(p, now, now); err == nil {
		return nil
	}
	if err := fsutil.WriteFileAtomic(p, nil, 0o600); err != nil {
		return fmt.Errorf("record use of image %s: %w", conda.ShortKey(key), err)
	}
	return nil
}

// lastUsed returns the recorded last use of key's image, if any.
func (u imageUses) lastUsed(key string) (time.Time, bool) {
	p, err := u.path(key)
	if err != nil {
		return time.Time{}, false
	}
	fi, err := os.Stat(p)
	if err != nil {
		return time.Time{}, false
	}
	return fi.ModTime().UTC(), true
}

// forget drops the record of key's image (none is fine).
func (u imageUses) forget(key string) error {
	p, err := u.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("forget use of image %s: %w", conda.ShortKey(key), err)
	}
	return nil
}

// lockPath is the lock file held while key's image is being built; the
// directory is created if missing.
func (u imageUses) lockPath(key string) (string, error) {
	p, err := u.path(key)
	if err != nil {
		return "", err
	}
	if err := fsutil.MkdirPrivate(string(u)); err != nil {
		return "", err
	}
	return strings.TrimSuffix(p, usedSuffix) + ".lock", nil
}

// path is key's marker; the key must be a key, as it names a file.
func (u imageUses) path(key string) (string, error) {
	if !imageKeyRE.MatchString(key) {
		return "", fmt.Errorf("image use of %q: not an image key", key)
	}
	return filepath.Join(string(u), key+usedSuffix), nil
}

// baseSuffix names the record of a base image run as it is: <key>.base
// holds the image's reference (the key is its environment key).
const baseSuffix = ".base"

// recordBase records a use of base image ref, of environment key, now.
func (u imageUses) recordBase(key, ref string) error {
	p, err := u.path(key)
	if err != nil {
		return err
	}
	bp := strings.TrimSuffix(p, usedSuffix) + baseSuffix
	if old, err := os.ReadFile(bp); err != nil || string(old) != ref {
		if err := fsutil.MkdirPrivate(string(u)); err != nil {
			return err
		}
		if err := fsutil.WriteFileAtomic(bp, []byte(ref), 0o600); err != nil {
			return fmt.Errorf("record use of image %s: %w", ref, err)
		}
	}
	return u.touch(key)
}

// bases returns the recorded base images: key -> reference.
func (u imageUses) bases() map[string]string {
	ents, err := os.ReadDir(string(u))
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, e := range ents {
		key, ok := strings.CutSuffix(e.Name(), baseSuffix)
		if !ok || !imageKeyRE.MatchString(key) {
			continue
		}
		if ref, err := os.ReadFile(filepath.Join(string(u), e.Name())); err == nil && len(ref) > 0 {
			out[key] = string(ref)
		}
	}
	return out
}

// forgetBase drops the record of the base image of key.
func (u imageUses) forgetBase(key string) error {
	p, err := u.path(key)
	if err != nil {
		return err
	}
	bp := strings.TrimSuffix(p, usedSuffix) + baseSuffix
	if err := os.Remove(bp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("forget base image of %s: %w", conda.ShortKey(key), err)
	}
	return u.forget(key)
}
