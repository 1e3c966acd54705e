package natsauth_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natsauthtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

const (
	shippedNationalConf = "../../../deploy/nats/national.conf"
	shippedDemoAccount  = "../../../deploy/nats/accounts/demo.conf"
	regenerateAccount   = "go run ./services/shared/natsauth/cmd/natsauth -region deploy/examples/region.yaml -account demo -o deploy/nats/accounts/demo.conf"
)

// TestAccountUsers: the users of a region in an account are those of the
// region alone, named <account>-<user>, with their password variables
// and inboxes following the name; an account that is not a region id is
// refused.
func TestAccountUsers(t *testing.T) {
	t.Parallel()
	cfg := natsauthtest.LoadRegion(t, testRegion)
	alone, err := natsauth.Users(cfg)
	if err != nil {
		t.Fatal(err)
	}
	in, err := natsauth.AccountUsers(cfg, "groningen")
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != len(alone) {
		t.Fatalf("%d users in the account, %d alone", len(in), len(alone))
	}
	for i, u := range in {
		if u.Name != "groningen-"+alone[i].Name || u.PasswordEnv != natsauth.PasswordEnv(u.Name) {
			t.Errorf("user %s (%s), want groningen-%s", u.Name, u.PasswordEnv, alone[i].Name)
		}
		if u.Permissions != nil && !strings.Contains(strings.Join(u.Permissions.SubscribeAllow, " "), natsauth.InboxPrefix(u.Name)+".>") {
			t.Errorf("user %s may not receive on its inbox %s: %v", u.Name, natsauth.InboxPrefix(u.Name), u.Permissions.SubscribeAllow)
		}
	}
	if got := natsauth.PasswordEnv("groningen-gateway"); got != "KETENBUS_NATS_PASSWORD_GRONINGEN_GATEWAY" {
		t.Errorf("PasswordEnv = %s", got)
	}
	for _, bad := range []string{"", "Groningen", "noord holland", "a.b"} {
		if _, err := natsauth.Account(cfg, bad); err == nil {
			t.Errorf("account %q accepted", bad)
		}
	}
}

// TestAccountsKeepRegionsApart runs one server with two regions, each in
// its account: each region's admin creates its streams, and each gateway
// stores events in its own region's EVENTS only.
func TestAccountsKeepRegionsApart(t *testing.T) {
	t.Parallel()
	cfg := natsauthtest.LoadRegion(t, testRegion)
	passwords := map[string]string{}
	vars := map[string]string{}
	var blocks strings.Builder
	for _, account := range []string{"noord", "zuid"} {
		users, err := natsauth.AccountUsers(cfg, account)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			passwords[u.Name] = natsauthtest.RandomSecret()
			vars[u.PasswordEnv] = passwords[u.Name]
		}
		block, err := natsauth.Account(cfg, account)
		if err != nil {
			t.Fatal(err)
		}
		blocks.WriteString(block)
	}
	srv := natsauthtest.ServeConfig(t, vars, "accounts {\n"+blocks.String()+"}\n")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	stored := map[string]int{"noord": 3, "zuid": 1}
	for account, n := range stored {
		admin := natsauthtest.ConnectAs(t, srv.ClientURL(), account+"-admin", passwords[account+"-admin"])
		if err := streams.Ensure(ctx, admin.JS, streams.Config{}); err != nil {
			t.Fatalf("%s-admin creates its streams: %v", account, err)
		}
		gw := natsauthtest.ConnectAs(t, srv.ClientURL(), account+"-gateway", passwords[account+"-gateway"])
		for i := range n {
			if _, err := gw.JS.Publish(ctx, events.EventSubject(events.TypeSignaal, partnerA), fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
				t.Fatalf("%s-gateway stores an event: %v", account, err)
			}
		}
		natsauthtest.ExpectNoViolations(t, gw)
	}
	for account, n := range stored {
		admin := natsauthtest.ConnectAs(t, srv.ClientURL(), account+"-admin", passwords[account+"-admin"])
		st, err := admin.JS.Stream(ctx, events.StreamEvents)
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != uint64(n) {
			t.Errorf("EVENTS of %s holds %d events, want its own %d", account, info.State.Msgs, n)
		}
	}
}

// TestShippedNationalConfig loads deploy/nats/national.conf, which
// includes the demo region's account, with its variables in the
// environment, and runs it: demo-admin creates the streams and the
// partner consumers, demo-gateway stores an event.
func TestShippedNationalConfig(t *testing.T) {
	cfg := natsauthtest.LoadRegion(t, demoRegion)
	users, err := natsauth.AccountUsers(cfg, "demo")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("KETENBUS_JETSTREAM_KEY", natsauthtest.RandomSecret())
	passwords := map[string]string{}
	for _, u := range users {
		passwords[u.Name] = natsauthtest.RandomSecret()
		t.Setenv(u.PasswordEnv, passwords[u.Name])
	}
	opts, err := server.ProcessConfigFile(shippedNationalConf)
	if err != nil {
		t.Fatalf("load %s: %v", shippedNationalConf, err)
	}
	if opts.JetStreamCipher != server.AES || opts.StoreDir != "/data/jetstream" || opts.MaxPayload != 8<<20 {
		t.Errorf("national.conf: cipher %v, store_dir %q, max_payload %d", opts.JetStreamCipher, opts.StoreDir, opts.MaxPayload)
	}
	opts.Host, opts.Port, opts.HTTPPort = "127.0.0.1", -1, 0
	opts.StoreDir = t.TempDir()
	srv := natstest.Run(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin := natsauthtest.ConnectAs(t, srv.ClientURL(), "demo-admin", passwords["demo-admin"])
	if err := streams.Ensure(ctx, admin.JS, streams.Config{}); err != nil {
		t.Fatalf("demo-admin creates the streams: %v", err)
	}
	if err := natsauth.EnsurePartnerConsumers(ctx, admin.JS, cfg); err != nil {
		t.Fatalf("demo-admin creates the partner consumers: %v", err)
	}
	gw := natsauthtest.ConnectAs(t, srv.ClientURL(), "demo-gateway", passwords["demo-gateway"])
	if _, err := gw.JS.Publish(ctx, events.EventSubject(events.TypeSignaal, "politie"), []byte(`{}`)); err != nil {
		t.Errorf("demo-gateway publishes to EVENTS: %v", err)
	}
	natsauthtest.ExpectNoViolations(t, admin)
	natsauthtest.ExpectNoViolations(t, gw)
}
