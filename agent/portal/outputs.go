package portal

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"path"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/snapshot"
)

// maxListedFiles caps the snapshot file list on a page.
const maxListedFiles = 5000

// handleOutput sends one output file from the local content store,
// downloading the run's outputs from its target first when the store lacks
// it. Files are sent as attachments, except images asked for inline: a
// run's HTML output must never run script in the portal's origin.
func (s *Server) handleOutput(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.lookup(w, r)
	if !ok {
		return
	}
	f, ok := findOutput(rec.Outputs, r.PathValue("path"))
	if !ok || f.Link != "" {
		s.fail(w, http.StatusNotFound, fmt.Sprintf("Run %s has no output file %q.", rec.ID, r.PathValue("path")))
		return
	}
	if !s.outputs.Has(f.Hash) {
		if err := s.collectOutputs(r.Context(), rec); err != nil {
			s.fail(w, http.StatusBadGateway, err.Error())
			return
		}
	}
	blob, err := s.outputs.OpenBlob(f.Hash)
	if err != nil {
		s.fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	defer blob.Close()
	h := w.Header()
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	typ := imageType(f.Path)
	if r.URL.Query().Get("inline") == "1" && typ != "" {
		h.Set("Content-Type", typ)
	} else {
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(f.Path)}))
	}
	http.ServeContent(w, r, "", rec.CreatedAt, blob)
}

func findOutput(files []api.OutputFile, p string) (api.OutputFile, bool) {
	for _, f := range files {
		if f.Path == p {
			return f, true
		}
	}
	return api.OutputFile{}, false
}

// collectOutputs copies a finished run's outputs into the local store and
// records their list.
func (s *Server) collectOutputs(ctx context.Context, rec history.Record) error {
	conn, err := s.connect(ctx, rec.Compute)
	if err != nil {
		return err
	}
	defer conn.Close()
	return s.fetchOutputs(ctx, conn, rec)
}

// fetchOutputs is collectOutputs on an open connection.
func (s *Server) fetchOutputs(ctx context.Context, conn Conn, rec history.Record) error {
	if _, err := s.runner.CollectOutputs(ctx, conn, rec.ID); err != nil {
		return fmt.Errorf("collect outputs of run %s: %w", rec.ID, err)
	}
	return nil
}

// filesView is the snapshot file list of a run.
type filesView struct {
	Snapshot string
	Files    []snapshot.Entry
	Total    int
	Bytes    int64
	Err      string
}

// handleSnapshotFiles lists the files of the run's snapshot, read from
// the target's store (the page asks for it when the list is opened).
func (s *Server) handleSnapshotFiles(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.lookup(w, r)
	if !ok {
		return
	}
	v := filesView{Snapshot: rec.Snapshot}
	m, err := s.manifest(r.Context(), rec)
	if err != nil {
		v.Err = err.Error()
	} else {
		v.Total, v.Bytes = m.Files(), m.Bytes()
		v.Files = m.Entries[:min(len(m.Entries), maxListedFiles)]
	}
	s.render(w, http.StatusOK, "run.html", "snapshot-files", v)
}

func (s *Server) manifest(ctx context.Context, rec history.Record) (*snapshot.Manifest, error) {
	conn, err := s.connect(ctx, rec.Compute)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.Manifest(ctx, rec.Snapshot)
}
