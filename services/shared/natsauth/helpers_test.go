package natsauth_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

// testRegion has two NATS-native partners and a webhook partner.
const testRegion = "testdata/region.yaml"

// The partners of testRegion.
const (
	partnerA   = "woningcorporatie" // NATS-native
	partnerB   = "schuldhulp"       // NATS-native
	webhookOne = "wijkteam"
)

// violationWait bounds the wait for the server's permissions violation;
// it arrives within a round trip, so a denial is told apart from a slow
// answer.
const violationWait = 2 * time.Second

// deniedCallTimeout bounds a JetStream API call that is expected to be
// denied: the server drops the request, so the call ends on this timeout.
const deniedCallTimeout = 300 * time.Millisecond

func loadRegion(t *testing.T, path string) *region.Config {
	t.Helper()
	cfg, err := region.Load(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return cfg
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// authServer is a nats-server started in-process from a config file that
// includes the generated authorization block of a region.
type authServer struct {
	url       string
	region    *region.Config
	passwords map[string]string // by user
	srv       *server.Server
	// prefix precedes every user name: "<account>-" in an account.
	prefix string
}

// startAuthServer writes a server config with the generated authorization
// block of cfg into a temporary directory, loads it with
// server.ProcessConfigFile, and starts nats-server with JetStream
// (encrypted at rest). The passwords and the JetStream key are variables
// defined at the top of the config, where production has them in the
// environment; that keeps the tests parallel (TestShippedServerConfig
// runs the shipped config, which includes authorization.conf, with the
// environment). As admin it creates the ketenbus streams (streams.Ensure)
// and the consumer of every NATS-native partner.
func startAuthServer(t *testing.T, cfg *region.Config) *authServer {
	t.Helper()
	return startAuthServerIn(t, cfg, "")
}

// startAuthServerIn is startAuthServer with the region in account (a
// server of several regions), or alone when account is "". Its connect
// takes the user names of a region alone.
func startAuthServerIn(t *testing.T, cfg *region.Config, account string) *authServer {
	t.Helper()
	text, err := natsauth.Authorization(cfg)
	if err != nil {
		t.Fatalf("Authorization: %v", err)
	}
	users, err := natsauth.Users(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &authServer{region: cfg, passwords: map[string]string{}}
	if account != "" {
		block, err := natsauth.Account(cfg, account)
		if err != nil {
			t.Fatalf("Account: %v", err)
		}
		if users, err = natsauth.AccountUsers(cfg, account); err != nil {
			t.Fatal(err)
		}
		text = "accounts {\n" + block + "}\n"
		s.prefix = account + "-"
	}
	dir := t.TempDir()
	var conf strings.Builder
	fmt.Fprintf(&conf, "KETENBUS_JETSTREAM_KEY: %q\n", randomSecret())
	for _, u := range users {
		s.passwords[u.Name] = randomSecret()
		fmt.Fprintf(&conf, "%s: %q\n", u.PasswordEnv, s.passwords[u.Name])
	}
	fmt.Fprintf(&conf, "host: 127.0.0.1\nport: -1\n")
	fmt.Fprintf(&conf, "jetstream {\n  store_dir: %q\n  key: $KETENBUS_JETSTREAM_KEY\n  cipher: aes\n}\n", filepath.Join(dir, "jetstream"))
	// Variables are not seen inside an included file, so the block is
	// written in place.
	conf.WriteString(text)
	path := filepath.Join(dir, "nats-server.conf")
	if err := os.WriteFile(path, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("load the server config with the generated authorization: %v", err)
	}
	s.srv = natstest.Run(t, opts)
	s.url = s.srv.ClientURL()

	admin := s.connect(t, natsauth.UserAdmin)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := streams.Ensure(ctx, admin.js, streams.Config{}); err != nil {
		t.Fatalf("create the streams as admin: %v", err)
	}
	if err := natsauth.EnsurePartnerConsumers(ctx, admin.js, cfg); err != nil {
		t.Fatalf("create the partner consumers as admin: %v", err)
	}
	return s
}

// client is a connection of one user, with the permission violations the
// server reported on it.
type client struct {
	user string
	nc   *nats.Conn
	js   jetstream.JetStream

	mu         sync.Mutex
	violations []string
	notify     chan struct{}
}

// connect connects as user, with the user's own inbox prefix, the way a
// ketenbus service or partner connects.
func (s *authServer) connect(t *testing.T, user string) *client {
	t.Helper()
	user = s.prefix + user
	pw, ok := s.passwords[user]
	if !ok {
		t.Fatalf("no user %s", user)
	}
	return connectAs(t, s.url, user, pw)
}

func connectAs(t *testing.T, url, user, password string) *client {
	t.Helper()
	return connectWith(t, url, user, password, nats.CustomInboxPrefix(natsauth.InboxPrefix(user)))
}

func connectWith(t *testing.T, url, user, password string, opts ...nats.Option) *client {
	t.Helper()
	c := &client{user: user, notify: make(chan struct{}, 1)}
	nc, err := nats.Connect(url, append([]nats.Option{
		nats.UserInfo(user, password),
		nats.Name(user),
		nats.Timeout(5 * time.Second),
		nats.PermissionErrOnSubscribe(true),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if !errors.Is(err, nats.ErrPermissionViolation) {
				return
			}
			c.mu.Lock()
			c.violations = append(c.violations, err.Error())
			c.mu.Unlock()
			select {
			case c.notify <- struct{}{}:
			default:
			}
		}),
	}, opts...)...)
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	c.nc, c.js = nc, js
	return c
}

// Violations returns the permission violations reported so far.
func (c *client) Violations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.violations...)
}

// violated waits for a violation of kind ("Publish" or "Subscription")
// on subject.
func (c *client) violated(kind, subject string) bool {
	want := fmt.Sprintf("Permissions Violation for %s to %q", kind, subject)
	deadline := time.After(violationWait)
	for {
		for _, v := range c.Violations() {
			if strings.Contains(v, want) {
				return true
			}
		}
		select {
		case <-c.notify:
		case <-deadline:
			return false
		}
	}
}

// expectPublishDenied asserts that the server refused a publish by c to
// subject, made by the call do. A refused request gets no answer, so the
// call is ended as soon as the violation is reported (or after
// deniedCallTimeout); a call that returns before that must have failed.
func expectPublishDenied(t *testing.T, c *client, subject string, do func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deniedCallTimeout)
	defer cancel()
	result := make(chan error, 1)
	go func() { result <- do(ctx) }()
	violated := make(chan bool, 1)
	go func() { violated <- c.violated("Publish", subject) }()
	select {
	case err := <-result:
		if err == nil {
			t.Errorf("%s: the call publishing to %s succeeded", c.user, subject)
		}
		if !<-violated {
			t.Errorf("%s: no permissions violation for publishing to %s; violations: %q", c.user, subject, c.Violations())
		}
	case ok := <-violated:
		cancel()
		<-result
		if !ok {
			t.Errorf("%s: no permissions violation for publishing to %s; violations: %q", c.user, subject, c.Violations())
		}
	}
}

// expectSubscribeDenied asserts that the server refused c's subscription
// to subject and that nothing arrived on it.
func expectSubscribeDenied(t *testing.T, c *client, subject string) {
	t.Helper()
	sub, err := c.nc.SubscribeSync(subject)
	if err != nil {
		t.Fatalf("%s: subscribe %s: %v", c.user, subject, err)
	}
	defer sub.Unsubscribe()
	if !c.violated("Subscription", subject) {
		t.Errorf("%s: no permissions violation for subscribing to %s; violations: %q", c.user, subject, c.Violations())
	}
	if m, err := sub.NextMsg(50 * time.Millisecond); err == nil {
		t.Errorf("%s: received a message on %s: %s", c.user, subject, m.Subject)
	} else if !errors.Is(err, nats.ErrPermissionViolation) {
		t.Errorf("%s: NextMsg on %s: %v, want a permissions violation", c.user, subject, err)
	}
}

// expectNoViolations asserts that the server refused nothing c did.
func expectNoViolations(t *testing.T, c *client) {
	t.Helper()
	if v := c.Violations(); len(v) > 0 {
		t.Errorf("%s: the server refused what the user needs to do its job: %q", c.user, v)
	}
}

// request publishes data to subject with a reply inbox, as a JetStream API
// call does, and waits for the answer.
func request(c *client, subject string, data []byte) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.nc.RequestWithContext(ctx, subject, data)
		return err
	}
}

// publishMsg publishes to a stream and waits for the PubAck.
func publishMsg(c *client, subject string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.js.Publish(ctx, subject, []byte(`{}`))
		return err
	}
}

// natsConnect connects as user with password and closes the connection at
// once; it reports whether the server let the user in.
func natsConnect(url, user, password string) (*nats.Conn, error) {
	nc, err := nats.Connect(url, nats.UserInfo(user, password), nats.MaxReconnects(0))
	if err != nil {
		return nil, err
	}
	nc.Close()
	return nc, nil
}
