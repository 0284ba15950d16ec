package executor

import (
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/ferry-ml/ferry/executor/client"
)

// TestServerBlob: a stored blob is served whole by id (a rerun on another
// target reads the snapshot from here); an unknown one is 404, a malformed
// id 400.
func TestServerBlob(t *testing.T) {
	dir := shortDir(t)
	c, _, _ := startServer(t, dir, nil)
	ctx := t.Context()
	_, blobs := manifestOf(t, sampleTree)
	writePack(t, dir, "p", blobs)
	if _, err := c.Ingest(ctx, []string{"p"}); err != nil {
		t.Fatal(err)
	}
	for _, b := range blobs {
		body, err := c.Blob(ctx, hexID(b))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(body)
		body.Close()
		if err != nil || string(got) != string(b) {
			t.Fatalf("blob %.8s: %q, %v; want %q", hexID(b), got, err, b)
		}
	}
	if _, err := c.Blob(ctx, hexID([]byte("none"))); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("unknown blob: %v, want ErrNotFound", err)
	}
	var apiErr *client.APIError
	if _, err := c.Blob(ctx, "../../etc/passwd"); !errors.As(err, &apiErr) || apiErr.Status == http.StatusOK {
		t.Errorf("malformed id: %v, want an error status", err)
	}
}
