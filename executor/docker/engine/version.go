package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// MaxAPIVersion is the newest API version this client asks for; an older
// engine's own version is used instead. The calls it makes are the same
// from API 1.41 (Engine 20.10) on.
const MaxAPIVersion = "1.51"

// oldestAPIVersion is what an engine that names no version speaks.
const oldestAPIVersion = "1.24"

// APIVersion is the version the calls use: the pinned one, or the one
// negotiated with the engine on the first call (the API-Version header of
// /_ping, capped at MaxAPIVersion). A failed ping is returned and retried
// on the next call.
func (c *Client) APIVersion(ctx context.Context) (string, error) {
	if c.pinned != "" {
		return c.pinned, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version != "" {
		return c.version, nil
	}
	v, err := c.ping(ctx)
	if err != nil {
		return "", err
	}
	if v == "" {
		v = oldestAPIVersion
	}
	if versionLess(MaxAPIVersion, v) {
		v = MaxAPIVersion
	}
	c.version = v
	return v, nil
}

// ping asks /_ping for the engine's API version. An error answer that
// still names a version is taken, as Docker's own client does.
func (c *Client) ping(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/_ping", nil)
	if err != nil {
		return "", fmt.Errorf("ping docker engine: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", unwrapURL(err)
	}
	defer resp.Body.Close()
	v := resp.Header.Get("API-Version")
	if resp.StatusCode >= 400 && v == "" {
		return "", readError(resp)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	return v, nil
}

// versionLess reports whether API version a ("1.41") is older than b.
// Parts that are not numbers count as 0.
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		x, y := part(as, i), part(bs, i)
		if x != y {
			return x < y
		}
	}
	return false
}

// part is the i-th number of a split version, 0 when missing.
func part(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	n, _ := strconv.Atoi(parts[i])
	return n
}
