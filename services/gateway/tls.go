package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/region"
)

// TLSConfig returns the server TLS configuration for a region's
// gateway.tls: the certificate and key from CertFile and KeyFile, TLS 1.2
// at least (Go's defaults otherwise, so TLS 1.3 where the client has it).
// When ClientCAFile is set, clients are asked for a certificate
// (tls.VerifyClientCertIfGiven): one that is given must chain to a CA in
// that file, and a client without one can still authenticate by token.
//
// Each call reads the files again. Errors name the key and the file and
// say what to fix; they never contain key material. It is safe for
// concurrent use.
func TLSConfig(t region.GatewayTLS) (*tls.Config, error) {
	cert, err := loadKeyPair(t.CertFile, t.KeyFile, time.Now())
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}
	if t.ClientCAFile != "" {
		pool, err := loadClientCAs(t.ClientCAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

func loadKeyPair(certFile, keyFile string, now time.Time) (tls.Certificate, error) {
	if certFile == "" || keyFile == "" {
		return tls.Certificate{}, errors.New("gateway.tls: cert_file and key_file are both required")
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("gateway.tls.cert_file: %w; check the path and that the gateway may read it", err)
	}
	if !hasPEMBlock(certPEM, "CERTIFICATE") {
		return tls.Certificate{}, fmt.Errorf("gateway.tls.cert_file %s holds no PEM CERTIFICATE block; give the gateway's certificate, followed by its intermediates, in PEM", certFile)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("gateway.tls.key_file: %w; check the path and that the gateway may read it", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	clear(keyPEM)
	if err != nil {
		// crypto/tls names what is wrong (no key block, a certificate
		// where the key belongs, a key of another certificate) and never
		// prints the key itself.
		return tls.Certificate{}, fmt.Errorf("gateway.tls.key_file %s is not the PEM private key of the certificate in gateway.tls.cert_file %s: %w", keyFile, certFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil { // GODEBUG x509keypairleaf=0
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return tls.Certificate{}, fmt.Errorf("gateway.tls.cert_file %s: %w", certFile, err)
		}
	}
	switch {
	case now.After(leaf.NotAfter):
		return tls.Certificate{}, fmt.Errorf("gateway.tls.cert_file %s expired on %s; renew the certificate", certFile, leaf.NotAfter.UTC().Format(time.DateOnly))
	case now.Before(leaf.NotBefore):
		return tls.Certificate{}, fmt.Errorf("gateway.tls.cert_file %s is not valid before %s; check the certificate and the clock", certFile, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return cert, nil
}

func loadClientCAs(file string) (*x509.CertPool, error) {
	caPEM, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("gateway.tls.client_ca_file: %w; check the path and that the gateway may read it", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("gateway.tls.client_ca_file %s holds no PEM CERTIFICATE; give the certificate(s) of the CA that issues partner client certificates", file)
	}
	return pool, nil
}

func hasPEMBlock(data []byte, typ string) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if b.Type == typ {
			return true
		}
	}
}
