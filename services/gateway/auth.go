package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ketenbus/ketenbus/services/shared/region"
)

// authenticator tells which partner sent a request, by bearer token
// (token_env or token_sha256_env), by verified client certificate
// (client_cert), or by both when a partner has both. It only reads its
// fields after newAuthenticator and is safe for concurrent use.
type authenticator struct {
	tokens []tokenEntry
	certs  map[string]*certMatcher // by partner id
	order  []*certMatcher          // file order, for messages that do not depend on map order
}

type tokenEntry struct {
	hash    [sha256.Size]byte
	partner *region.Partner
}

// certMatcher is one partner's client_cert.
type certMatcher struct {
	partner        *region.Partner
	commonName     string // "" when client_cert sets none
	fingerprint    [sha256.Size]byte
	hasFingerprint bool
	// tokenRequired: the partner also has a token, which every request
	// must carry with the certificate.
	tokenRequired bool
}

func newAuthenticator(reg *region.Config, s region.Secrets) (*authenticator, error) {
	a := &authenticator{certs: map[string]*certMatcher{}}
	var errs []error
	for i := range reg.Partners {
		p := &reg.Partners[i]
		tokenRequired := p.TokenEnv != "" || p.TokenSHA256Env != ""
		if tok := s.Tokens[p.ID]; tok != "" {
			a.tokens = append(a.tokens, tokenEntry{hash: sha256.Sum256([]byte(tok)), partner: p})
			tokenRequired = true
		}
		if h, ok := s.TokenHashes[p.ID]; ok {
			if len(h) != sha256.Size {
				errs = append(errs, fmt.Errorf("gateway: the token hash of partner %s has %d bytes, not %d", p.ID, len(h), sha256.Size))
				continue
			}
			e := tokenEntry{partner: p}
			copy(e.hash[:], h)
			a.tokens = append(a.tokens, e)
			tokenRequired = true
		}
		cc := p.ClientCert
		if cc == nil {
			continue
		}
		m := &certMatcher{partner: p, commonName: cc.CommonName, tokenRequired: tokenRequired}
		if fp := cc.Fingerprint(); fp != "" {
			b, err := hex.DecodeString(fp)
			if err != nil || len(b) != sha256.Size {
				errs = append(errs, fmt.Errorf("gateway: partners[%d].client_cert.sha256 is not a SHA-256 fingerprint; write 64 hex digits", i))
				continue
			}
			copy(m.fingerprint[:], b)
			m.hasFingerprint = true
		}
		if m.commonName == "" && !m.hasFingerprint {
			errs = append(errs, fmt.Errorf("gateway: partners[%d].client_cert names no certificate; give common_name, sha256 or both", i))
			continue
		}
		a.certs[p.ID] = m
		a.order = append(a.order, m)
	}
	if len(a.order) > 0 {
		if t := reg.Gateway.TLS; t == nil || t.ClientCAFile == "" {
			errs = append(errs, errors.New("gateway: partners with client_cert need gateway.tls.client_ca_file"))
		}
	}
	return a, errors.Join(errs...)
}

// matches reports whether the leaf certificate (whose SHA-256 is sum) is
// the one the partner's client_cert names: the subject CN equal to
// common_name when set, the fingerprint equal to sha256 when set.
func (m *certMatcher) matches(leaf *x509.Certificate, sum [sha256.Size]byte) bool {
	if m.commonName != "" && leaf.Subject.CommonName != m.commonName {
		return false
	}
	return !m.hasFingerprint || sum == m.fingerprint
}

// Details of the 401 answers. They say what is missing or wrong and never
// echo the token or the certificate.
const (
	detailNoCredentials = "send the partner's token as Authorization: Bearer <token>, or present the partner's client certificate over mutual TLS"
	detailBadToken      = "the token is not valid; send the partner's token as Authorization: Bearer <token>"
	detailNoCert        = "no client certificate for a partner that requires one; present the partner's client certificate, issued by the CA the gateway trusts, over mutual TLS"
	detailCertMismatch  = "the client certificate does not match the one configured for the partner of this token (client_cert common_name and sha256)"
	detailUnknownCert   = "the client certificate does not match any partner's client_cert; send the partner's token as Authorization: Bearer <token>, or the partner's own certificate"
	detailCertNeedToken = "the partner of this client certificate also requires its token; send it as Authorization: Bearer <token>"
	detailAmbiguousCert = "the client certificate matches the client_cert of more than one partner; send the partner's token as well, or give each partner's client_cert its own sha256"
)

// authenticate returns the partner that sent r, or the 401 problem to
// answer. who names the partner the credentials point to when there is
// one (for the log), also on a refusal.
//
// A bearer token is compared, in constant time, with every partner's; a
// client certificate counts only when the TLS handshake verified it
// against gateway.tls.client_ca_file (r.TLS.VerifiedChains). A partner
// with client_cert must present its certificate, and its token as well
// when it has one; a partner without client_cert is identified by its
// token alone and a certificate it presents is ignored.
func (a *authenticator) authenticate(r *http.Request) (_ *region.Partner, who string, _ *Problem) {
	leaf := verifiedLeaf(r)
	if r.Header.Get("Authorization") == "" {
		if leaf == nil {
			return nil, "", unauthenticated(detailNoCredentials)
		}
		return a.byCertificate(leaf)
	}
	partner := a.byToken(r.Header.Get("Authorization"))
	if partner == nil {
		return nil, "", unauthenticated(detailBadToken)
	}
	m := a.certs[partner.ID]
	switch {
	case m == nil:
		return partner, partner.ID, nil
	case leaf == nil:
		return nil, partner.ID, unauthenticated(detailNoCert)
	case !m.matches(leaf, sha256.Sum256(leaf.Raw)):
		return nil, partner.ID, unauthenticated(detailCertMismatch)
	}
	return partner, partner.ID, nil
}

// byToken returns the partner whose token the Authorization header
// carries. Every token is compared, in constant time, whatever matches.
func (a *authenticator) byToken(auth string) *region.Partner {
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	var found *region.Partner
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], a.tokens[i].hash[:]) == 1 {
			found = a.tokens[i].partner
		}
	}
	return found
}

// byCertificate identifies a request without a token by its verified
// client certificate: the one partner whose client_cert matches it and
// that has no token.
func (a *authenticator) byCertificate(leaf *x509.Certificate) (*region.Partner, string, *Problem) {
	sum := sha256.Sum256(leaf.Raw)
	var matched, tokenFree []*certMatcher
	for _, m := range a.order {
		if !m.matches(leaf, sum) {
			continue
		}
		matched = append(matched, m)
		if !m.tokenRequired {
			tokenFree = append(tokenFree, m)
		}
	}
	switch {
	case len(matched) == 0:
		return nil, "", unauthenticated(detailUnknownCert)
	case len(tokenFree) == 1:
		p := tokenFree[0].partner
		return p, p.ID, nil
	case len(tokenFree) > 1:
		return nil, "", unauthenticated(detailAmbiguousCert)
	case len(matched) == 1:
		return nil, matched[0].partner.ID, unauthenticated(detailCertNeedToken)
	}
	return nil, "", unauthenticated(detailCertNeedToken)
}

// verifiedLeaf returns the client certificate the TLS handshake verified
// against the client CAs, or nil. PeerCertificates is not used: under
// another ClientAuth it may hold a certificate nobody verified.
func verifiedLeaf(r *http.Request) *x509.Certificate {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil
	}
	return r.TLS.VerifiedChains[0][0]
}

func unauthenticated(detail string) *Problem {
	return problem(http.StatusUnauthorized, "unauthenticated", "Not authenticated", detail)
}
