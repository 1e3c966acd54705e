package monitor_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

func noRedirects() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func TestOperatorToken(t *testing.T) {
	t.Parallel()
	const token = "een-lang-operatortoken-voor-de-test"
	base := accessMonitor(t, monitor.Auth{Token: token})
	c := noRedirects()
	bearer := http.Header{"Authorization": {"Bearer " + token}}

	// A stranger: pages go to the login form, the rest gets 401.
	resp, _ := do(t, c, http.MethodGet, base+"/partners/ggz", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fpartners%2Fggz" {
		t.Errorf("GET /partners/ggz without the token: %d to %q, want 303 to the login form", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, path := range []string{"/fragment/overzicht", "/live/stream", "/fragment/partners/ggz"} {
		if resp, _ := do(t, c, http.MethodGet, base+path, nil, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without the token: %d, want 401", path, resp.StatusCode)
		}
	}
	if resp, _ := do(t, c, http.MethodGet, base+"/", nil, http.Header{"Authorization": {"Bearer wrong"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET / with a wrong token: %d, want 303 to the login form", resp.StatusCode)
	}
	// What a scraper and a health check need stays open.
	for _, path := range []string{"/healthz", "/metrics"} {
		if resp, _ := do(t, c, http.MethodGet, base+path, nil, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d, want 200 without the token", path, resp.StatusCode)
		}
	}

	// The token as a bearer token.
	resp, page := do(t, c, http.MethodGet, base+"/", nil, bearer)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="partner-ggz"`) {
		t.Errorf("GET / with the token: %d, want the overview", resp.StatusCode)
	}
	if strings.Contains(page, token) {
		t.Errorf("the overview shows the operator token")
	}

	// The login form: a wrong token is refused, the right one gives a
	// session cookie that is not the token, and sends the operator on.
	resp, page = do(t, c, http.MethodPost, base+"/login", url.Values{"token": {"fout"}, "next": {"/termijnen"}}, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "Dit token klopt niet") {
		t.Errorf("login with a wrong token: %d, want 401 and why", resp.StatusCode)
	}
	resp, _ = do(t, c, http.MethodPost, base+"/login", url.Values{"token": {token}, "next": {"//elders.example/"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Errorf("login with next=//elders.example/: %d to %q, want 303 to / (never another site)", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "ketenbus_monitor" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || strings.Contains(session.Value, token) {
		t.Fatalf("session cookie %+v, want HttpOnly, SameSite=Strict and not the token", session)
	}
	resp, page = do(t, c, http.MethodGet, base+"/partners/ggz", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "GGZ Testregio") {
		t.Fatalf("GET /partners/ggz with the session: %d, want ggz's page", resp.StatusCode)
	}

	// A POST needs the form's CSRF token and no other site as Origin.
	resp, page = do(t, c, http.MethodGet, base+"/partners/ggz/dlq/retry?seq=1", nil, nil)
	m := csrfInput.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("confirmation page: %d, without a CSRF field", resp.StatusCode)
	}
	if resp, _ := do(t, c, http.MethodPost, base+"/partners/ggz/dlq/retry", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("retry without the CSRF token: %d, want 403", resp.StatusCode)
	}
	if resp, _ := do(t, c, http.MethodPost, base+"/partners/ggz/dlq/retry", url.Values{"csrf": {m[1]}},
		http.Header{"Origin": {"https://elders.example"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("retry from another site: %d, want 403", resp.StatusCode)
	}
	resp, _ = do(t, c, http.MethodPost, base+"/partners/ggz/dlq/retry", url.Values{"csrf": {m[1]}, "seq": {"1"}}, http.Header{"Origin": {base}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/partners/ggz?opnieuw=0" {
		t.Errorf("retry with the CSRF token: %d to %q, want 303 to the partner page saying nothing was retried", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Logging out ends the session.
	do(t, c, http.MethodPost, base+"/logout", url.Values{}, nil)
	if resp, _ := do(t, c, http.MethodGet, base+"/", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET / after logging out: %d, want 303 to the login form", resp.StatusCode)
	}
}

func TestTrustedProxyHeader(t *testing.T) {
	t.Parallel()
	c := noRedirects()
	from := http.Header{"X-Forwarded-Email": {"operator@zvh.example"}}

	trusted := accessMonitor(t, monitor.Auth{TrustedHeader: "X-Forwarded-Email", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	resp, page := do(t, c, http.MethodGet, trusted+"/", nil, from)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "operator@zvh.example") {
		t.Errorf("GET / through the trusted proxy: %d, want the overview naming the operator", resp.StatusCode)
	}
	if resp, _ := do(t, c, http.MethodGet, trusted+"/", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET / through the proxy without its header: %d, want 401", resp.StatusCode)
	}

	// The header from anywhere else is not believed.
	elsewhere := accessMonitor(t, monitor.Auth{TrustedHeader: "X-Forwarded-Email", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if resp, _ := do(t, c, http.MethodGet, elsewhere+"/", nil, from); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET / with the header from an untrusted address: %d, want 401", resp.StatusCode)
	}
}

func TestOpenMonitorSaysSo(t *testing.T) {
	t.Parallel()
	base := accessMonitor(t, monitor.Auth{Open: true})
	resp, page := do(t, noRedirects(), http.MethodGet, base+"/", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "open (dev)") {
		t.Errorf("GET / of an open monitor: %d, want the overview marked open (dev)", resp.StatusCode)
	}
}

func TestConfigNeedsAccess(t *testing.T) {
	t.Parallel()
	reg := accessRegionConfig(t)
	js := natstest.Start(t).JS
	for _, tc := range []struct {
		auth monitor.Auth
		want string
	}{
		{monitor.Auth{}, "monitor.token_env"},
		{monitor.Auth{TrustedHeader: "X-Forwarded-Email"}, "monitor.trusted_proxies"},
	} {
		_, err := monitor.New(monitor.Config{Region: reg, JetStream: js, Auth: tc.auth})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("monitor.New with %+v: %v, want an error naming %s", tc.auth, err, tc.want)
		}
	}
}
