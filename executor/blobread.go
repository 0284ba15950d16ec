package executor

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
)

// OpenBlob opens a stored blob by its id (64 hex digits) for reading; the
// caller closes it. ErrNotFound when the store lacks it.
func (s *Store) OpenBlob(id string) (*os.File, error) {
	bid, err := parseID(id)
	if err != nil {
		return nil, &RequestError{Err: err}
	}
	f, err := os.Open(s.blobPath(bid))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %.8s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %.8s: %w", id, err)
	}
	return f, nil
}

// handleGetBlob serves a blob's content: a rerun on another target reads
// the snapshot from here when the source has changed since.
func (s *Server) handleGetBlob(w http.ResponseWriter, r *http.Request) {
	f, err := s.store.OpenBlob(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	io.Copy(w, f)
}
