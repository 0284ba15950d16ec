package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// cookieName holds the access token once the browser has presented it.
const cookieName = "ferry_portal"

// auth admits requests that carry the access token, and guards POSTs
// against cross-site request forgery.
type auth struct {
	token string // the access token in the printed URL
	csrf  string // the form token every POST must carry
}

// newAuth makes a fresh random access token (256 bits).
func newAuth() auth {
	b := make([]byte, 32)
	rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	mac := hmac.New(sha256.New, []byte(tok))
	mac.Write([]byte("csrf"))
	return auth{token: tok, csrf: base64.RawURLEncoding.EncodeToString(mac.Sum(nil))}
}

// wrap returns next behind the token check. A valid ?token= sets the
// cookie and redirects to the same URL without it, so the token leaves the
// address bar and the browser history.
func (a auth) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w)
		if !localHost(r.Host) {
			http.Error(w, "421 misdirected request: the portal answers to 127.0.0.1, ::1 or localhost only", http.StatusMisdirectedRequest)
			return
		}
		if q := r.URL.Query().Get("token"); q != "" && a.equal(q) && r.Method == http.MethodGet {
			a.setCookie(w)
			http.Redirect(w, r, withoutToken(r.URL), http.StatusSeeOther)
			return
		}
		if !a.admitted(r) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte("401 unauthorized: open the URL that 'ferry ui' printed (it carries the access token)\n"))
			return
		}
		if r.Method == http.MethodPost && !a.sameOrigin(r) {
			http.Error(w, "403 forbidden: cross-site request refused (reload the page and try again)", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// admitted reports whether r carries the token: in the cookie, or as a
// bearer token (for scripts).
func (a auth) admitted(r *http.Request) bool {
	if c, err := r.Cookie(cookieName); err == nil && a.equal(c.Value) {
		return true
	}
	b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && a.equal(b)
}

// sameOrigin checks a POST: the form token must match, and an Origin
// header, when the browser sends one, must be this server.
func (a auth) sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	v := r.Header.Get("X-Ferry-CSRF")
	if v == "" {
		v = r.PostFormValue("csrf")
	}
	return subtle.ConstantTimeCompare([]byte(v), []byte(a.csrf)) == 1
}

func (a auth) equal(s string) bool {
	return subtle.ConstantTimeCompare([]byte(s), []byte(a.token)) == 1
}

func (a auth) setCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: a.token, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}

// withoutToken is u's path and query with the token parameter removed.
func withoutToken(u *url.URL) string {
	q := u.Query()
	q.Del("token")
	out := url.URL{Path: u.Path, RawQuery: q.Encode()}
	if out.Path == "" {
		out.Path = "/"
	}
	return out.String()
}

// localHost reports whether a Host header names a loopback host, which
// defeats DNS rebinding (a hostile page whose name resolves to 127.0.0.1
// would send its own name).
func localHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	host = strings.Trim(host, "[]")
	return checkLoopback(host) == nil
}

// setSecurityHeaders forbids framing, inline script and sniffing.
func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin") // "no-referrer" would make the browser send "Origin: null" on our own POSTs
	h.Set("X-Frame-Options", "DENY")
}
