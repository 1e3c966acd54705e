package gateway_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/pkitest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/servetest"
)

const sourceWijkteam = "urn:nld:oin:00000009999999990003:systeem:regie"

// pki holds the certificates of the mTLS tests.
type pki struct {
	ca, otherCA                 *pkitest.CA
	server                      pkitest.Issued
	ggz, politie                pkitest.Issued // the partners' own certificates
	ggzOtherCA                  pkitest.Issued // ggz's CN, issued by another CA
	stranger                    pkitest.Issued // the right CA, a CN no partner has
	politieCN                   pkitest.Issued // politie's CN, another key: another fingerprint
	certFile, keyFile, caFile   string
	regionYAML                  string
	tokenEnv                    map[string]string
	allKeyPEMs, allFingerprints []string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{ca: pkitest.NewCA(t, "Ketenbus Testregio Partner CA"), otherCA: pkitest.NewCA(t, "Some Other CA")}
	p.server = p.ca.Server(t, "gateway.test", "127.0.0.1")
	p.ggz = p.ca.Client(t, "epd.ggz.test")
	p.politie = p.ca.Client(t, "bvh.politie.test")
	p.ggzOtherCA = p.otherCA.Client(t, "epd.ggz.test")
	p.stranger = p.ca.Client(t, "somebody.test")
	p.politieCN = p.ca.Client(t, "bvh.politie.test")
	dir := t.TempDir()
	p.certFile = writeFile(t, dir, "gateway.crt", p.server.CertPEM)
	p.keyFile = writeFile(t, dir, "gateway.key", p.server.KeyPEM)
	p.caFile = writeFile(t, dir, "partners-ca.crt", p.ca.PEM)
	p.regionYAML = strings.NewReplacer(
		"{{POLITIE_SHA256}}", p.politie.Fingerprint(),
		"{{CERT}}", p.certFile, "{{KEY}}", p.keyFile, "{{CA}}", p.caFile,
	).Replace(regionText(t, "mtls-region.yaml"))
	p.tokenEnv = map[string]string{
		"KETENBUS_TOKEN_POLITIE":         tokenPolitie,
		"KETENBUS_TOKEN_SHA256_WIJKTEAM": sha256Hex(tokenWijkteam),
	}
	for _, c := range []pkitest.Issued{p.server, p.ggz, p.politie, p.ggzOtherCA, p.stranger, p.politieCN} {
		p.allKeyPEMs = append(p.allKeyPEMs, string(c.KeyPEM))
		p.allFingerprints = append(p.allFingerprints, c.Fingerprint(), strings.ReplaceAll(strings.ToLower(c.Fingerprint()), ":", ""))
	}
	return p
}

// clientOpt is how a test client presents a certificate: offered only
// when the server names its CA as acceptable (what crypto/tls clients do
// by default), or always (GetClientCertificate).
type clientOpt int

const (
	offer clientOpt = iota
	force
)

// client returns an HTTPS client that trusts the test CA and presents
// cert (nil: none).
func (p *pki) client(t *testing.T, cert *pkitest.Issued, how clientOpt) *http.Client {
	t.Helper()
	cfg := &tls.Config{RootCAs: p.ca.Pool()}
	if cert != nil {
		pair := cert.Pair
		if how == force {
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
		} else {
			cfg.Certificates = []tls.Certificate{pair}
		}
	}
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func eventFrom(id, source string) map[string]any {
	ev := signaal(id)
	ev["source"] = source
	return ev
}

// TestMutualTLS runs the partners of testdata/mtls-region.yaml against a
// real HTTPS gateway with real certificates. Each event carries the
// source of the partner the case expects to be authenticated, so an
// accepted event under the wrong identity would be refused (403) instead.
func TestMutualTLS(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	g, nats, logs := newGateway(t, p.regionYAML, p.tokenEnv)
	srv := g.Server()
	if srv.TLSConfig == nil {
		t.Fatal("Server has no TLSConfig with gateway.tls set")
	}
	url := "https://" + servetest.Serve(t, srv)
	// The same gateway behind a server that requests client certificates
	// without verifying them: such a certificate must not count.
	lax := g.Server()
	lax.TLSConfig.ClientAuth = tls.RequestClientCert
	laxURL := "https://" + servetest.Serve(t, lax)

	stored := 0
	for _, tc := range []struct {
		name    string
		url     string
		cert    *pkitest.Issued
		how     clientOpt
		token   string
		source  string
		partner string // "" when refused
		detail  string // part of the 401 detail
	}{
		{"cert-only partner, its certificate", url, &p.ggz, offer, "", sourceGGZ, "ggz", ""},
		{"cert-only partner, no certificate", url, nil, offer, "", sourceGGZ, "", "Bearer"},
		{"cert-only partner, its CN from another CA (not offered)", url, &p.ggzOtherCA, offer, "", sourceGGZ, "", "client certificate"},
		{"cert-only partner, its CN from another CA on a server that does not verify", laxURL, &p.ggzOtherCA, force, "", sourceGGZ, "", "client certificate"},
		{"cert-only partner, its own certificate on a server that does not verify", laxURL, &p.ggz, force, "", sourceGGZ, "", "client certificate"},
		{"right CA, a CN no partner has", url, &p.stranger, offer, "", sourceGGZ, "", "does not match any partner"},
		{"cert-only partner, a wrong token", url, &p.ggz, offer, "tok-wrong-0123456789", sourceGGZ, "", "token is not valid"},
		{"cert+token partner, certificate without token", url, &p.politie, offer, "", sourcePolitie, "", "requires its token"},
		{"cert+token partner, token without certificate", url, nil, offer, tokenPolitie, sourcePolitie, "", "no client certificate for a partner that requires one"},
		{"cert+token partner, token with its CN but another fingerprint", url, &p.politieCN, offer, tokenPolitie, sourcePolitie, "", "does not match"},
		{"cert+token partner, token with another partner's certificate", url, &p.ggz, offer, tokenPolitie, sourcePolitie, "", "does not match"},
		{"cert+token partner, both", url, &p.politie, offer, tokenPolitie, sourcePolitie, "politie", ""},
		{"token-only partner over TLS without certificate", url, nil, offer, tokenWijkteam, sourceWijkteam, "wijkteam", ""},
		{"token-only partner with another partner's certificate: identity by token", url, &p.ggz, offer, tokenWijkteam, sourceWijkteam, "wijkteam", ""},
		{"token-only partner, wrong token", url, nil, offer, tokenGGZ, sourceWijkteam, "", "token is not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := p.client(t, tc.cert, tc.how)
			resp, body, err := postEvent(t, c, tc.url, tc.token, eventFrom("m-"+tc.name, tc.source))
			if err != nil {
				t.Fatal(err)
			}
			if tc.partner != "" {
				if resp.StatusCode != http.StatusAccepted {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				if resp.ProtoMajor != 2 || resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
					t.Fatalf("proto %s, TLS %v: want HTTP/2 over TLS 1.3", resp.Proto, resp.TLS != nil)
				}
				stored++
				msgs := nats.Messages(t, events.StreamEvents)
				if len(msgs) != stored || msgs[len(msgs)-1].Subject != "ketenbus.events.signaal.v1."+tc.partner {
					t.Fatalf("%d stored, want %d, the last from %s", len(msgs), stored, tc.partner)
				}
				return
			}
			pb := assertProblem(t, resp, body, http.StatusUnauthorized, "")
			if !strings.Contains(pb.Detail, tc.detail) {
				t.Fatalf("detail %q, want it to say %q", pb.Detail, tc.detail)
			}
			for _, secret := range append([]string{tokenPolitie, tokenWijkteam, tokenGGZ, "tok-wrong", "epd.ggz.test", "bvh.politie.test", "somebody.test"}, p.allFingerprints...) {
				if strings.Contains(string(body), secret) {
					t.Fatalf("the answer echoes %q: %s", secret, body)
				}
			}
			if n := len(nats.Messages(t, events.StreamEvents)); n != stored {
				t.Fatalf("%d stored after a refusal, want %d", n, stored)
			}
		})
	}

	t.Run("another CA's certificate forced on the verifying server: handshake refused", func(t *testing.T) {
		resp, body, err := postEvent(t, p.client(t, &p.ggzOtherCA, force), url, "", eventFrom("m-forced", sourceGGZ))
		if err == nil {
			t.Fatalf("status %d: %s; want the TLS handshake to fail", resp.StatusCode, body)
		}
	})

	t.Run("plain HTTP to the TLS server", func(t *testing.T) {
		resp, body, err := postEvent(t, http.DefaultClient, "http"+strings.TrimPrefix(url, "https"), tokenWijkteam, eventFrom("m-plain", sourceWijkteam))
		// net/http answers a plain request on a TLS port with a 400 of its own.
		if err == nil && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	})

	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.ca.Pool(), MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}}
		defer tr.CloseIdleConnections()
		resp, body, err := postEvent(t, &http.Client{Transport: tr}, url, tokenWijkteam, eventFrom("m-tls11", sourceWijkteam))
		if err == nil {
			t.Fatalf("status %d: %s; want the handshake to fail", resp.StatusCode, body)
		}
	})

	if n := len(nats.Messages(t, events.StreamEvents)); n != stored {
		t.Fatalf("%d stored, want %d", n, stored)
	}
	for _, secret := range append([]string{tokenPolitie, tokenWijkteam, tokenGGZ}, p.allKeyPEMs...) {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("log contains a token or key:\n%s", logs.String())
		}
	}
}

// TestTLSConfig checks the configuration TLSConfig builds and that every
// file it cannot use is reported by key and file, with no key material.
func TestTLSConfig(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	dir := t.TempDir()

	cfg, err := gateway.TLSConfig(region.GatewayTLS{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.caFile})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.ClientAuth != tls.VerifyClientCertIfGiven || cfg.ClientCAs == nil || len(cfg.Certificates) != 1 {
		t.Fatalf("min version %x, client auth %v, client CAs %v, %d certificates", cfg.MinVersion, cfg.ClientAuth, cfg.ClientCAs != nil, len(cfg.Certificates))
	}
	cfg, err = gateway.TLSConfig(region.GatewayTLS{CertFile: p.certFile, KeyFile: p.keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientAuth != tls.NoClientCert || cfg.ClientCAs != nil {
		t.Fatalf("client auth %v without client_ca_file", cfg.ClientAuth)
	}

	expired := p.ca.Issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "gateway.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour),
	})
	expiredCert := writeFile(t, dir, "expired.crt", expired.CertPEM)
	expiredKey := writeFile(t, dir, "expired.key", expired.KeyPEM)
	otherKey := writeFile(t, dir, "other.key", p.ggz.KeyPEM)
	garbage := writeFile(t, dir, "garbage.pem", []byte("not a PEM file\n"))
	missing := dir + "/missing.pem"
	for _, tc := range []struct {
		name  string
		files region.GatewayTLS
		want  []string
	}{
		{"cert_file missing", region.GatewayTLS{CertFile: missing, KeyFile: p.keyFile}, []string{"gateway.tls.cert_file", missing, "check the path"}},
		{"key_file missing", region.GatewayTLS{CertFile: p.certFile, KeyFile: missing}, []string{"gateway.tls.key_file", missing}},
		{"cert and key swapped", region.GatewayTLS{CertFile: p.keyFile, KeyFile: p.certFile}, []string{"gateway.tls.cert_file", p.keyFile, "no PEM CERTIFICATE"}},
		{"the key of another certificate", region.GatewayTLS{CertFile: p.certFile, KeyFile: otherKey}, []string{"gateway.tls.key_file", otherKey, "not the PEM private key of the certificate"}},
		{"key_file not PEM", region.GatewayTLS{CertFile: p.certFile, KeyFile: garbage}, []string{"gateway.tls.key_file", garbage}},
		{"expired certificate", region.GatewayTLS{CertFile: expiredCert, KeyFile: expiredKey}, []string{"gateway.tls.cert_file", expiredCert, "expired", "renew"}},
		{"client_ca_file missing", region.GatewayTLS{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: missing}, []string{"gateway.tls.client_ca_file", missing}},
		{"client_ca_file not PEM", region.GatewayTLS{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: garbage}, []string{"gateway.tls.client_ca_file", garbage, "no PEM CERTIFICATE"}},
		{"client_ca_file holds a key", region.GatewayTLS{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.keyFile}, []string{"gateway.tls.client_ca_file", p.keyFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gateway.TLSConfig(tc.files)
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			assertNoKeyMaterial(t, err.Error(), p.server.KeyPEM, p.ggz.KeyPEM, expired.KeyPEM)
		})
	}
}

// assertNoKeyMaterial fails when s holds any line of the PEM keys.
func assertNoKeyMaterial(t *testing.T, s string, keyPEMs ...[]byte) {
	t.Helper()
	for _, k := range keyPEMs {
		for _, line := range strings.Split(string(k), "\n") {
			if len(line) > 16 && !strings.HasPrefix(line, "-----") && strings.Contains(s, line) {
				t.Fatalf("%q contains key material", s)
			}
		}
	}
}

// TestRunServesHTTPS runs the gateway with Run on a region with
// gateway.tls: it answers over HTTPS and stops when the context ends; a
// key it cannot load makes Run fail at once, naming the file.
func TestRunServesHTTPS(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	reg, secrets := parseRegion(t, p.regionYAML, p.tokenEnv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // Run listens itself
	nats := natstest.Start(t)
	cfg := gateway.Config{Addr: addr, Region: reg, Secrets: secrets, JetStream: nats.JS}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- gateway.Run(ctx, cfg) }()
	c := p.client(t, nil, offer)
	var resp *http.Response
	for deadline := time.Now().Add(5 * time.Second); ; {
		resp, err = c.Get("https://" + addr + "/healthz")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("healthz: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}

	bad := *reg
	bad.Gateway.TLS = &region.GatewayTLS{CertFile: p.certFile, KeyFile: p.caFile, ClientCAFile: p.caFile}
	cfg.Region = &bad
	err = gateway.Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "gateway.tls.key_file "+p.caFile) {
		t.Fatalf("Run with a certificate as key: %v", err)
	}
	assertNoKeyMaterial(t, err.Error(), p.server.KeyPEM)
}
