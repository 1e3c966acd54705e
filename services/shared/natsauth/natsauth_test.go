package natsauth_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natsauthtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/pkitest"
)

// The shipped files, relative to this package.
const (
	demoRegion        = "../../../deploy/examples/region.yaml"
	shippedAuthConf   = "../../../deploy/nats/authorization.conf"
	shippedServerConf = "../../../deploy/nats/nats-server.conf"
	shippedClusterDir = "../../../deploy/nats/cluster"
)

const regenerate = "go run ./services/shared/natsauth/cmd/natsauth -region deploy/examples/region.yaml -o deploy/nats/authorization.conf"

// TestShippedFilesAreCurrent fails when deploy/nats/authorization.conf
// or deploy/nats/accounts/demo.conf is not what the generator makes of
// the demo region: a partner added, removed or moved to NATS delivery
// without regenerating it. It names the first line that differs and the
// command that regenerates the file.
func TestShippedFilesAreCurrent(t *testing.T) {
	t.Parallel()
	demo := natsauthtest.LoadRegion(t, demoRegion)
	for _, tc := range []struct {
		file, regenerate string
		generate         func() (string, error)
	}{
		{shippedAuthConf, regenerate, func() (string, error) { return natsauth.Authorization(demo) }},
		{shippedDemoAccount, regenerateAccount, func() (string, error) { return natsauth.Account(demo, "demo") }},
	} {
		name := strings.TrimPrefix(tc.file, "../../../")
		t.Run(name, func(t *testing.T) {
			want, err := tc.generate()
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatalf("read the shipped %s: %v\nGenerate it from the repository root with:\n    %s", name, err, tc.regenerate)
			}
			if string(got) == want {
				return
			}
			gotLines, wantLines := strings.Split(string(got), "\n"), strings.Split(want, "\n")
			line := 0
			for line < min(len(gotLines), len(wantLines)) && gotLines[line] == wantLines[line] {
				line++
			}
			at := func(lines []string) string {
				if line < len(lines) {
					return lines[line]
				}
				return "(end of file)"
			}
			t.Errorf("%s is stale: line %d is\n    %s\nwhere the generator writes\n    %s\nRegenerate it from the repository root with:\n    %s",
				name, line+1, at(gotLines), at(wantLines), tc.regenerate)
		})
	}
}

// TestAuthorization checks the generated text: every user of the region,
// each password an environment variable reference, a user per
// NATS-native partner and none for a webhook partner, the same text every
// time.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	cfg := natsauthtest.LoadRegion(t, testRegion)
	text, err := natsauth.Authorization(cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := natsauth.Authorization(cfg)
	if again != text {
		t.Error("two runs of Authorization differ")
	}
	users, err := natsauth.Users(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	want := []string{"admin", "gateway", "router", "adapter", "escalator", "samenloop", "monitor", "partner-" + partnerA, "partner-" + partnerB}
	if !slices.Equal(names, want) {
		t.Errorf("users %v, want %v", names, want)
	}
	passwords := regexp.MustCompile(`(?m)^\s*password:\s*(.*)$`).FindAllStringSubmatch(text, -1)
	if len(passwords) != len(want) {
		t.Fatalf("%d password lines, want %d", len(passwords), len(want))
	}
	for i, m := range passwords {
		if want := "$" + natsauth.PasswordEnv(want[i]); m[1] != want {
			t.Errorf("password of %s is %q, want the variable reference %s", names[i], m[1], want)
		}
	}
	if natsauth.PasswordEnv("partner-"+partnerA) != "KETENBUS_NATS_PASSWORD_PARTNER_WONINGCORPORATIE" {
		t.Errorf("PasswordEnv = %s", natsauth.PasswordEnv("partner-"+partnerA))
	}
	if strings.Contains(text, "partner-"+webhookOne) {
		t.Errorf("the webhook partner %s got a NATS user", webhookOne)
	}
	if _, err := natsauth.Authorization(nil); err == nil {
		t.Error("Authorization(nil) succeeded")
	}
}

// setEnv sets the JetStream key and a password for every user of the
// demo region in the environment, as an operator does, and returns them.
func setEnv(t *testing.T) (key string, passwords map[string]string) {
	t.Helper()
	users, err := natsauth.Users(natsauthtest.LoadRegion(t, demoRegion))
	if err != nil {
		t.Fatal(err)
	}
	key = natsauthtest.RandomSecret()
	t.Setenv("KETENBUS_JETSTREAM_KEY", key)
	passwords = map[string]string{}
	for _, u := range users {
		passwords[u.Name] = natsauthtest.RandomSecret()
		t.Setenv(u.PasswordEnv, passwords[u.Name])
	}
	return key, passwords
}

// checkOptions checks what every shipped server config must say: the
// JetStream key from the environment with AES-GCM, and exactly the users of
// the demo region with their passwords from the environment.
func checkOptions(t *testing.T, name string, opts *server.Options, key string, passwords map[string]string) {
	t.Helper()
	if !opts.JetStream || opts.StoreDir != "/data/jetstream" {
		t.Errorf("%s: jetstream %v, store_dir %q", name, opts.JetStream, opts.StoreDir)
	}
	if opts.JetStreamKey != key || opts.JetStreamCipher != server.AES {
		t.Errorf("%s: JetStream key from the environment: %v, cipher %v; want encryption at rest with AES-GCM", name, opts.JetStreamKey == key, opts.JetStreamCipher)
	}
	if len(opts.Users) != len(passwords) {
		t.Errorf("%s: %d users, want %d", name, len(opts.Users), len(passwords))
	}
	for _, u := range opts.Users {
		if pw, ok := passwords[u.Username]; !ok || u.Password != pw {
			t.Errorf("%s: user %s: password from the environment: %v", name, u.Username, ok && u.Password == pw)
		}
	}
	if opts.NoAuthUser != "" {
		t.Errorf("%s: no_auth_user %q lets clients in without a password", name, opts.NoAuthUser)
	}
}

// TestShippedServerConfig loads deploy/nats/nats-server.conf with its
// variables in the environment, checks it, and runs it (on a free port and
// a temporary store): admin creates the streams and the partner
// consumers, the gateway stores an event, woningcorporatie pulls a
// delivery from its consumer.
func TestShippedServerConfig(t *testing.T) {
	key, passwords := setEnv(t)
	opts, err := server.ProcessConfigFile(shippedServerConf)
	if err != nil {
		t.Fatalf("load %s: %v", shippedServerConf, err)
	}
	checkOptions(t, "nats-server.conf", opts, key, passwords)
	if opts.MaxPayload != 8<<20 {
		t.Errorf("max_payload %d, want 8 MiB as ketenbus dev", opts.MaxPayload)
	}

	opts.Host, opts.Port, opts.HTTPPort = "127.0.0.1", -1, 0
	opts.StoreDir = t.TempDir()
	srv := natstest.Run(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cfg := natsauthtest.LoadRegion(t, demoRegion)
	admin := natsauthtest.ConnectAs(t, srv.ClientURL(), natsauth.UserAdmin, passwords[natsauth.UserAdmin])
	if err := streams.Ensure(ctx, admin.JS, streams.Config{}); err != nil {
		t.Fatalf("admin creates the streams: %v", err)
	}
	if err := natsauth.EnsurePartnerConsumers(ctx, admin.JS, cfg); err != nil {
		t.Fatalf("admin creates the partner consumers: %v", err)
	}

	gw := natsauthtest.ConnectAs(t, srv.ClientURL(), natsauth.UserGateway, passwords[natsauth.UserGateway])
	if _, err := gw.JS.Publish(ctx, events.EventSubject(events.TypeSignaal, "politie"), []byte(`{}`)); err != nil {
		t.Errorf("gateway publishes to EVENTS: %v", err)
	}
	rt := natsauthtest.ConnectAs(t, srv.ClientURL(), natsauth.UserRouter, passwords[natsauth.UserRouter])
	if _, err := rt.JS.Publish(ctx, events.DeliverySubject("woningcorporatie"), []byte(`{"for":"woningcorporatie"}`)); err != nil {
		t.Errorf("router publishes to DELIVERY: %v", err)
	}
	wc := natsauthtest.ConnectAs(t, srv.ClientURL(), "partner-woningcorporatie", passwords["partner-woningcorporatie"])
	cons, err := wc.JS.Consumer(ctx, events.StreamDelivery, bus.PartnerConsumer("woningcorporatie"))
	if err != nil {
		t.Fatalf("woningcorporatie binds to its consumer: %v", err)
	}
	m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatalf("woningcorporatie pulls: %v", err)
	}
	if string(m.Data()) != `{"for":"woningcorporatie"}` {
		t.Errorf("woningcorporatie pulled %s", m.Data())
	}
	if err := m.DoubleAck(ctx); err != nil {
		t.Errorf("woningcorporatie acknowledges: %v", err)
	}
	for _, c := range []*natsauthtest.Client{admin, gw, rt, wc} {
		natsauthtest.ExpectNoViolations(t, c)
	}

	// A wrong password is refused.
	if _, err := natsConnect(srv.ClientURL(), natsauth.UserGateway, "not-the-password"); err == nil {
		t.Error("the gateway user connected with a wrong password")
	}
}

// TestShippedClusterConfigs loads the three node configs of
// deploy/nats/cluster with their variables in the environment and TLS
// files of a test CA: each is a node of one cluster of three, with the
// same encryption at rest and users as the single server, and mutual TLS
// between the nodes.
func TestShippedClusterConfigs(t *testing.T) {
	key, passwords := setEnv(t)
	dir := t.TempDir()
	writeTestTLS(t, filepath.Join(dir, "tls"))
	auth, err := os.ReadFile(shippedAuthConf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorization.conf"), auth, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "cluster"), 0o700); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"nats-1", "nats-2", "nats-3"} {
		b, err := os.ReadFile(filepath.Join(shippedClusterDir, name+".conf"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("/etc/nats/tls/")) {
			t.Fatalf("%s.conf has no route TLS under /etc/nats/tls/", name)
		}
		path := filepath.Join(dir, "cluster", name+".conf")
		b = bytes.ReplaceAll(b, []byte("/etc/nats/tls/"), []byte(filepath.Join(dir, "tls")+"/"))
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		opts, err := server.ProcessConfigFile(path)
		if err != nil {
			t.Fatalf("load %s.conf: %v", name, err)
		}
		checkOptions(t, name+".conf", opts, key, passwords)
		if opts.ServerName != name || opts.Cluster.Name != "ketenbus" || len(opts.Routes) != 3 {
			t.Errorf("node %d: server_name %q, cluster %q with %d routes; want %s in cluster ketenbus with 3 routes",
				i+1, opts.ServerName, opts.Cluster.Name, len(opts.Routes), name)
		}
		if opts.Cluster.TLSConfig == nil || opts.Cluster.TLSConfig.ClientAuth != tls.RequireAndVerifyClientCert {
			t.Errorf("node %d: routes are not mutual TLS", i+1)
		}
	}
}

// writeTestTLS writes a CA and one certificate for the three nodes, as
// route-ca.crt, route.crt and route.key.
func writeTestTLS(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ca := pkitest.NewCA(t, "ketenbus test CA")
	leaf := ca.Issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "nats"},
		DNSNames:    []string{"nats-1", "nats-2", "nats-3"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
	for name, b := range map[string][]byte{"route-ca.crt": ca.PEM, "route.crt": leaf.CertPEM, "route.key": leaf.KeyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
