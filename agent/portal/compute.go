package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/transport"
)

// computeView is the compute targets page.
type computeView struct {
	Targets []targetView
	Form    attachForm
	Notice  string
	Err     string
}

// targetView is one target with its last check.
type targetView struct {
	compute.Public
	Check *checkResult
}

// attachForm holds what the attach form was filled with (never the
// password), to show it again after an error.
type attachForm struct {
	Name, Address, Port, User, PrivateKey, KnownHosts, StateDir string
}

func (s *Server) handleCompute(w http.ResponseWriter, r *http.Request) {
	s.showCompute(w, r, http.StatusOK, attachForm{}, r.URL.Query().Get("notice"), "")
}

func (s *Server) showCompute(w http.ResponseWriter, r *http.Request, status int, form attachForm, notice, errMsg string) {
	ts, err := s.cfg.Targets.List()
	if err != nil {
		errMsg = err.Error()
	}
	v := computeView{Form: form, Notice: notice, Err: errMsg}
	for _, t := range ts {
		v.Targets = append(v.Targets, targetView{Public: t.Public(), Check: s.checks.get(t.Name)})
	}
	s.render(w, status, "compute.html", "layout", page{Title: "Compute targets", Nav: "compute", CSRF: s.auth.csrf, Data: v})
}

// handleCheck connects to a target and records what it has.
func (s *Server) handleCheck(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	t, err := s.cfg.Targets.Get(name)
	if err != nil {
		s.fail(w, http.StatusNotFound, err.Error())
		return
	}
	s.checks.put(name, s.check(r.Context(), t))
	http.Redirect(w, r, "/compute#target-"+url.PathEscape(name), http.StatusSeeOther)
}

// check connects to t (without touching its executor) and probes it.
func (s *Server) check(ctx context.Context, t compute.Target) *checkResult {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	start := time.Now()
	res := &checkResult{At: time.Now()}
	c, err := s.cfg.Connector.Dial(ctx, t, "")
	if err != nil {
		res.Err = describeConnectError(err)
		return res
	}
	defer c.Close()
	res.ConnectMS = time.Since(start).Milliseconds()
	f, err := c.Probe(ctx)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	res.Facts = f
	return res
}

func (s *Server) handleDetach(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := agent.Detach(s.cfg.Home, name); err != nil {
		s.showCompute(w, r, http.StatusBadRequest, attachForm{}, "", err.Error())
		return
	}
	s.checks.put(name, nil)
	http.Redirect(w, r, "/compute?notice="+url.QueryEscape("Detached "+name+"."), http.StatusSeeOther)
}

// handleAttach checks the form, connects once and saves the target. An
// unknown host key is shown for confirmation first (handleAttachConfirm).
func (s *Server) handleAttach(w http.ResponseWriter, r *http.Request) {
	form, t, err := readAttachForm(r)
	if err == nil {
		_, err = s.cfg.Targets.Get(t.Name)
		if err == nil {
			err = fmt.Errorf("compute target %s already exists; detach it first", t.Name)
		} else if errors.Is(err, compute.ErrNotFound) {
			err = nil
		}
	}
	if err != nil {
		s.showCompute(w, r, http.StatusBadRequest, form, "", err.Error())
		return
	}
	s.finishAttach(w, r, form, t, "")
}

// handleAttachConfirm completes an attach whose host key the user
// confirmed. Only a key with exactly the fingerprint shown is recorded.
func (s *Server) handleAttachConfirm(w http.ResponseWriter, r *http.Request) {
	p, ok := s.attach.take(r.PostFormValue("pending"))
	if !ok {
		s.showCompute(w, r, http.StatusBadRequest, attachForm{}, "", "That attach form has expired; fill it in again.")
		return
	}
	s.finishAttach(w, r, p.form, p.target, p.fingerprint)
}

// confirmView is the host key confirmation page.
type confirmView struct {
	Pending     string
	Target      compute.Public
	Host        string
	KeyType     string
	Fingerprint string
}

func (s *Server) finishAttach(w http.ResponseWriter, r *http.Request, form attachForm, t compute.Target, fp string) {
	ctx, cancel := context.WithTimeout(r.Context(), connectTimeout)
	defer cancel()
	c, err := s.cfg.Connector.Dial(ctx, t, fp)
	var unknown *transport.HostKeyUnknownError
	if errors.As(err, &unknown) && fp == "" {
		id := s.attach.put(pendingAttach{form: form, target: t, fingerprint: unknown.Fingerprint})
		v := confirmView{Pending: id, Target: t.Public(), Host: unknown.Host, KeyType: unknown.KeyType, Fingerprint: unknown.Fingerprint}
		s.page(w, r, "confirm.html", "Confirm host key", "compute", v)
		return
	}
	if err != nil {
		s.showCompute(w, r, http.StatusBadGateway, form, "", describeConnectError(err))
		return
	}
	c.Close()
	if err := s.cfg.Targets.Create(t); err != nil {
		s.showCompute(w, r, http.StatusBadRequest, form, "", err.Error())
		return
	}
	http.Redirect(w, r, "/compute?notice="+url.QueryEscape("Attached "+t.Name+"."), http.StatusSeeOther)
}

// readAttachForm reads and validates the attach form.
func readAttachForm(r *http.Request) (attachForm, compute.Target, error) {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := attachForm{Name: v("name"), Address: v("address"), Port: v("port"), User: v("username"),
		PrivateKey: v("private_key"), KnownHosts: v("known_hosts"), StateDir: v("state_dir")}
	t := compute.Target{Name: f.Name, Type: compute.TypeRemote, Address: f.Address, User: f.User,
		PrivateKey: f.PrivateKey, KnownHosts: f.KnownHosts, StateDir: f.StateDir,
		Password: r.PostFormValue("password"), CreatedAt: time.Now().UTC().Truncate(time.Second)}
	if f.Port != "" {
		p, err := strconv.Atoi(f.Port)
		if err != nil {
			return f, t, fmt.Errorf("port %q is not a number", f.Port)
		}
		t.Port = p
	}
	return f, t, t.Validate()
}

// describeConnectError says what a failed connection means and what to do.
func describeConnectError(err error) string {
	var unknown *transport.HostKeyUnknownError
	var changed *transport.HostKeyChangedError
	switch {
	case errors.As(err, &unknown):
		return fmt.Sprintf("The host key of %s is not known (%s %s). Attach the target here to confirm it, or connect once with ssh.", unknown.Host, unknown.KeyType, unknown.Fingerprint)
	case errors.As(err, &changed):
		return fmt.Sprintf("WARNING: the host key of %s has CHANGED (%s %s). This could be an attack, or a reinstalled machine: check with its owner, then remove the old key from %s line %d (ssh-keygen -R).", changed.Host, changed.KeyType, changed.Fingerprint, changed.KnownHostsFile, changed.Line)
	}
	return err.Error()
}

// checkResult is what one check found.
type checkResult struct {
	At        time.Time
	ConnectMS int64
	Facts     *agent.Facts
	Err       string
}

// checkCache keeps the last check of each target for the page.
type checkCache struct {
	mu sync.Mutex
	m  map[string]*checkResult
}

func newCheckCache() *checkCache { return &checkCache{m: make(map[string]*checkResult)} }

func (c *checkCache) get(name string) *checkResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[name]
}

func (c *checkCache) put(name string, r *checkResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[name] = r
}

// pendingAttach is an attach waiting for its host key to be confirmed. It
// stays on the server, so the password never goes back to the page.
type pendingAttach struct {
	form        attachForm
	target      compute.Target
	fingerprint string
	expires     time.Time
}

// pendingTTL is how long a host key confirmation stays valid.
const pendingTTL = 10 * time.Minute

type pendingAttaches struct {
	mu sync.Mutex
	m  map[string]pendingAttach
}

func newPendingAttaches() *pendingAttaches {
	return &pendingAttaches{m: make(map[string]pendingAttach)}
}

func (p *pendingAttaches) put(a pendingAttach) string {
	id := newAuth().token
	a.expires = time.Now().Add(pendingTTL)
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range p.m {
		if time.Now().After(v.expires) {
			delete(p.m, k)
		}
	}
	p.m[id] = a
	return id
}

// take returns and forgets a pending attach that has not expired.
func (p *pendingAttaches) take(id string) (pendingAttach, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.m[id]
	delete(p.m, id)
	return a, ok && time.Now().Before(a.expires)
}
