package monitor

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

const (
	sessionCookie = "ketenbus_monitor"
	csrfField     = "csrf"
)

type operatorKey struct{}

// operator returns who is signed in: the proxy's user, "operator" for a
// token, "dev" when open.
func operator(ctx context.Context) string {
	s, _ := ctx.Value(operatorKey{}).(string)
	return s
}

// authorized lets a request through when it carries the operator token or
// session, comes from a trusted proxy with its header, or the monitor is
// open. Otherwise a page request goes to the login form and anything else
// gets 401.
func (m *Monitor) authorized(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := m.who(r)
		if who == "" {
			if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/fragment/") && r.URL.Path != "/live/stream" && m.cfg.Auth.Token != "" {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="ketenbus monitor"`)
			http.Error(w, "Niet aangemeld: geef het operatortoken (Authorization: Bearer) of meld u aan via /login.", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && !m.sameOrigin(r, who) {
			http.Error(w, "Verzoek van een andere site geweigerd.", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), operatorKey{}, who)))
	})
}

// who returns the operator of r, "" when r is not let in.
func (m *Monitor) who(r *http.Request) string {
	a := m.cfg.Auth
	if a.TrustedHeader != "" && m.fromTrustedProxy(r) {
		if v := strings.TrimSpace(r.Header.Get(a.TrustedHeader)); v != "" {
			return v
		}
	}
	if a.Token != "" {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && m.tokenMatches(tok) {
			return "operator"
		}
		if c, err := r.Cookie(sessionCookie); err == nil && hmac.Equal([]byte(c.Value), []byte(m.session())) {
			return "operator"
		}
	}
	if a.Open {
		return "dev"
	}
	return ""
}

func (m *Monitor) tokenMatches(tok string) bool {
	got, want := sha256.Sum256([]byte(tok)), sha256.Sum256([]byte(m.cfg.Auth.Token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// session is the value of the session cookie: it proves the token was
// given, without being the token.
func (m *Monitor) session() string {
	return base64.RawURLEncoding.EncodeToString(m.sign("session", m.cfg.Auth.Token))
}

func (m *Monitor) fromTrustedProxy(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range m.cfg.Auth.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// sameOrigin rejects a POST whose Origin is another site, and checks the
// form's CSRF token, which is who's.
func (m *Monitor) sameOrigin(r *http.Request, who string) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return hmac.Equal([]byte(r.PostFormValue(csrfField)), []byte(m.csrf(who)))
}

// csrf returns the CSRF token of the operator's forms.
func (m *Monitor) csrf(who string) string {
	return base64.RawURLEncoding.EncodeToString(m.sign("csrf", who))
}

func (m *Monitor) loginPage(w http.ResponseWriter, r *http.Request) {
	m.render(w, "login", "page", pageData{Title: "Aanmelden", Next: localPath(r.URL.Query().Get("next")), NoNav: true})
}

func (m *Monitor) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	next := localPath(r.PostFormValue("next"))
	if m.cfg.Auth.Token == "" || !m.tokenMatches(r.PostFormValue("token")) {
		w.WriteHeader(http.StatusUnauthorized)
		m.render(w, "login", "page", pageData{Title: "Aanmelden", Next: next, NoNav: true, Error: "Dit token klopt niet."})
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: m.session(), Path: "/", HttpOnly: true,
		Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https", SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (m *Monitor) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// localPath returns p when it is a path on this site, else "/".
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}
