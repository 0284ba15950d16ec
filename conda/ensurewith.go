package conda

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ferry-ml/ferry/internal/fsutil"
)

// Builder makes an environment at prefix (which does not exist yet) and
// returns the name of the tool that made it, for the cache's listing.
type Builder func(ctx context.Context, prefix string) (tool string, err error)

// EnsureWith gives other environment kinds (pip's venvs) this cache's
// guarantees: the complete prefix of key is reused with no build; else
// build makes it, once even when callers race, and the prefix is marked
// complete last; a failed or interrupted build leaves nothing behind.
// kind names the environment in the lines written to out ("pip").
func (c *Cache) EnsureWith(ctx context.Context, key, kind string, out io.Writer, build Builder) (built bool, err error) {
	if !keyRE().MatchString(key) {
		return false, fmt.Errorf("ensure %s environment %q: %w", kind, key, ErrBadKey)
	}
	l, err := fsutil.Lock(ctx, c.lockPath(key), func() {
		fmt.Fprintf(out, "ferry: %s environment %s is being built by another run; waiting\n", kind, short(key))
	})
	if err != nil {
		return false, fmt.Errorf("lock %s environment %s: %w", kind, short(key), err)
	}
	defer l.Unlock()
	prefix := c.Prefix(key)
	if _, err := c.entry(key); err == nil {
		fmt.Fprintf(out, "ferry: using %s environment %s (cached)\n", kind, short(key))
		return false, touch(prefix)
	}
	if err := c.discard(key); err != nil {
		return false, err
	}
	fmt.Fprintf(out, "ferry: building %s environment %s\n", kind, short(key))
	start := time.Now()
	tool, err := build(ctx, prefix)
	if err == nil {
		err = markComplete(prefix, key, tool)
	}
	if err != nil {
		return true, errors.Join(err, c.discard(key))
	}
	fmt.Fprintf(out, "ferry: %s environment %s built in %s\n", kind, short(key), time.Since(start).Round(time.Millisecond))
	return true, nil
}
