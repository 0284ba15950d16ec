package portal

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/units"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds one template set per page, each with the shared layout and
// fragments.
type pages struct {
	sets map[string]*template.Template
}

// pageNames are the files under templates/ that are whole pages; the rest
// (layout.html, fragments.html) are shared by all of them.
var pageNames = []string{"runs.html", "run.html", "compare.html", "compute.html", "confirm.html", "error.html"}

func parsePages() (*pages, error) {
	p := &pages{sets: make(map[string]*template.Template)}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/fragments.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		p.sets[name] = t
	}
	return p, nil
}

// render writes page name (executing its "layout") or, with a fragment
// name, just that template of it. It renders into a buffer first, so that a
// template error becomes a clean 500.
func (s *Server) render(w http.ResponseWriter, status int, page, tmpl string, data any) {
	var buf bytes.Buffer
	if err := s.pages.sets[page].ExecuteTemplate(&buf, tmpl, data); err != nil {
		s.log.Error("render page", "page", page, "template", tmpl, "error", err)
		http.Error(w, "500 internal error: cannot render the page (see ferry ui's log)", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// page is the data every page gets: its title, the CSRF form token and
// its own content.
type page struct {
	Title string
	Nav   string // "runs", "compute" or "compare": the highlighted tab
	CSRF  string
	Data  any
}

func (s *Server) page(w http.ResponseWriter, r *http.Request, name, title, nav string, data any) {
	s.render(w, http.StatusOK, name, "layout", page{Title: title, Nav: nav, CSRF: s.auth.csrf, Data: data})
}

// fail shows an error page with a status code.
func (s *Server) fail(w http.ResponseWriter, status int, msg string) {
	s.render(w, status, "error.html", "layout", page{Title: http.StatusText(status), CSRF: s.auth.csrf,
		Data: struct {
			Status int
			Msg    string
		}{status, msg}})
}

func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}

var funcs = template.FuncMap{
	"when":        when,
	"took":        took,
	"statusClass": statusClass,
	"bytes":       units.Bytes,
	"join":        strings.Join,
	"short":       shortHash,
	"exit": func(c *int) string {
		if c == nil {
			return "–"
		}
		return fmt.Sprint(*c)
	},
	"terminal": func(s api.Status) bool { return s.Terminal() },
	"kb":       humanKB,
	"keyfile":  keyFileName,
}

// humanKB formats a count of KiB as probe scripts report it.
func humanKB(kb string) string {
	n, err := strconv.ParseInt(kb, 10, 64)
	if err != nil {
		return "unknown"
	}
	return units.Bytes(n * 1024)
}

// keyFileName is the part of /etc/ssh/ssh_host_*_key that holds a key type.
func keyFileName(keyType string) string {
	switch {
	case strings.Contains(keyType, "ed25519"):
		return "ed25519"
	case strings.HasPrefix(keyType, "ecdsa"):
		return "ecdsa"
	case strings.Contains(keyType, "rsa"):
		return "rsa"
	}
	return "*"
}

// when formats a time for a table: local, to the second.
func when(t any) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return "–"
		}
		return v.Local().Format("2006-01-02 15:04:05")
	case *time.Time:
		if v == nil {
			return "–"
		}
		return v.Local().Format("2006-01-02 15:04:05")
	}
	return ""
}

// took is a run's duration so far, or in all once it ended.
func took(r history.Record) string {
	if r.StartedAt == nil {
		return "–"
	}
	end := time.Now()
	if r.EndedAt != nil {
		end = *r.EndedAt
	}
	d := end.Sub(*r.StartedAt)
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// statusClass is the CSS class of a status badge.
func statusClass(s api.Status) string {
	return "st-" + strings.ToLower(string(s))
}

func shortHash(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
