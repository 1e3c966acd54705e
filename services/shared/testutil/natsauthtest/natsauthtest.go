package natsauthtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

// LoadRegion loads the region config at path and fails the test when it
// does not load.
func LoadRegion(t *testing.T, path string) *region.Config {
	t.Helper()
	cfg, err := region.Load(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return cfg
}

func RandomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// ServeConfig starts nats-server in-process from a config file written
// to a temporary directory: the variables vars (with a random
// KETENBUS_JETSTREAM_KEY), which stand in for the environment production
// has, a free port of 127.0.0.1, JetStream encrypted at rest with that
// key, then body.
func ServeConfig(tb testing.TB, vars map[string]string, body string) *server.Server {
	tb.Helper()
	dir := tb.TempDir()
	var conf strings.Builder
	fmt.Fprintf(&conf, "KETENBUS_JETSTREAM_KEY: %q\n", RandomSecret())
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		fmt.Fprintf(&conf, "%s: %q\n", name, vars[name])
	}
	fmt.Fprintf(&conf, "host: 127.0.0.1\nport: -1\n")
	fmt.Fprintf(&conf, "jetstream {\n  store_dir: %q\n  key: $KETENBUS_JETSTREAM_KEY\n  cipher: aes\n}\n", filepath.Join(dir, "jetstream"))
	conf.WriteString(body)
	path := filepath.Join(dir, "nats-server.conf")
	if err := os.WriteFile(path, []byte(conf.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		tb.Fatalf("load the server config:\n%s\n%v", body, err)
	}
	return natstest.Run(tb, opts)
}

// violationWait bounds the wait for the server's permissions violation;
// it arrives within a round trip, so a denial is told apart from a slow
// answer.
const violationWait = 2 * time.Second

// deniedCallTimeout bounds a JetStream API call that is expected to be
// denied: the server drops the request, so the call ends on this timeout.
const deniedCallTimeout = 300 * time.Millisecond

// Server is a nats-server started in-process from a config file that
// includes the generated authorization block of a region.
type Server struct {
	// URL is the server's client URL.
	URL string
	// Region is the region whose authorization the server runs.
	Region *region.Config
	// Passwords holds each user's password, by user name.
	Passwords map[string]string
	// Srv is the running server.
	Srv *server.Server
	// prefix precedes every user name: "<account>-" in an account.
	prefix string
}

// Start writes a server config with the generated authorization
// block of cfg into a temporary directory, loads it with
// server.ProcessConfigFile, and starts nats-server with JetStream
// (encrypted at rest). The passwords and the JetStream key are variables
// defined at the top of the config, where production has them in the
// environment; that keeps the tests parallel (TestShippedServerConfig
// runs the shipped config, which includes authorization.conf, with the
// environment). As admin it creates the ketenbus streams (streams.Ensure)
// and the consumer of every NATS-native partner.
func Start(t *testing.T, cfg *region.Config) *Server {
	t.Helper()
	return StartIn(t, cfg, "")
}

// StartIn is startAuthServer with the region in account (a
// server of several regions), or alone when account is "". Its connect
// takes the user names of a region alone.
func StartIn(t *testing.T, cfg *region.Config, account string) *Server {
	t.Helper()
	text, err := natsauth.Authorization(cfg)
	if err != nil {
		t.Fatalf("Authorization: %v", err)
	}
	users, err := natsauth.Users(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Region: cfg, Passwords: map[string]string{}}
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
	vars := map[string]string{}
	for _, u := range users {
		s.Passwords[u.Name] = RandomSecret()
		vars[u.PasswordEnv] = s.Passwords[u.Name]
	}
	// Variables are not seen inside an included file, so the block is
	// written in place.
	s.Srv = ServeConfig(t, vars, text)
	s.URL = s.Srv.ClientURL()

	admin := s.Connect(t, natsauth.UserAdmin)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := streams.Ensure(ctx, admin.JS, streams.Config{}); err != nil {
		t.Fatalf("create the streams as admin: %v", err)
	}
	if err := natsauth.EnsurePartnerConsumers(ctx, admin.JS, cfg); err != nil {
		t.Fatalf("create the partner consumers as admin: %v", err)
	}
	return s
}

// Client is a connection of one user, with the permission violations the
// server reported on it.
type Client struct {
	// User is the name the client connected as.
	User string
	// NC is the connection.
	NC *nats.Conn
	// JS is JetStream on NC.
	JS jetstream.JetStream

	mu         sync.Mutex
	violations []string
	notify     chan struct{}
}

// Connect connects as user, with the user's own inbox prefix, the way a
// ketenbus service or partner connects.
func (s *Server) Connect(t *testing.T, user string) *Client {
	t.Helper()
	user = s.prefix + user
	pw, ok := s.Passwords[user]
	if !ok {
		t.Fatalf("no user %s", user)
	}
	return ConnectAs(t, s.URL, user, pw)
}

// ConnectAs connects to url as user with password and the user's own
// inbox prefix.
func ConnectAs(t *testing.T, url, user, password string) *Client {
	t.Helper()
	return ConnectWith(t, url, user, password, nats.CustomInboxPrefix(natsauth.InboxPrefix(user)))
}

// ConnectWith connects to url as user with password and opts, recording
// the permissions violations the server reports on the connection.
func ConnectWith(t *testing.T, url, user, password string, opts ...nats.Option) *Client {
	t.Helper()
	c := &Client{User: user, notify: make(chan struct{}, 1)}
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
	c.NC, c.JS = nc, js
	return c
}

// Violations returns the permission violations reported so far.
func (c *Client) Violations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.violations...)
}

// violated waits for a violation of kind ("Publish" or "Subscription")
// on subject.
func (c *Client) violated(kind, subject string) bool {
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

// ExpectPublishDenied asserts that the server refused a publish by c to
// subject, made by the call do. A refused request gets no answer, so the
// call is ended as soon as the violation is reported (or after
// deniedCallTimeout); a call that returns before that must have failed.
func ExpectPublishDenied(t *testing.T, c *Client, subject string, do func(ctx context.Context) error) {
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
			t.Errorf("%s: the call publishing to %s succeeded", c.User, subject)
		}
		if !<-violated {
			t.Errorf("%s: no permissions violation for publishing to %s; violations: %q", c.User, subject, c.Violations())
		}
	case ok := <-violated:
		cancel()
		<-result
		if !ok {
			t.Errorf("%s: no permissions violation for publishing to %s; violations: %q", c.User, subject, c.Violations())
		}
	}
}

// ExpectSubscribeDenied asserts that the server refused c's subscription
// to subject and that nothing arrived on it.
func ExpectSubscribeDenied(t *testing.T, c *Client, subject string) {
	t.Helper()
	sub, err := c.NC.SubscribeSync(subject)
	if err != nil {
		t.Fatalf("%s: subscribe %s: %v", c.User, subject, err)
	}
	defer sub.Unsubscribe()
	if !c.violated("Subscription", subject) {
		t.Errorf("%s: no permissions violation for subscribing to %s; violations: %q", c.User, subject, c.Violations())
	}
	if m, err := sub.NextMsg(50 * time.Millisecond); err == nil {
		t.Errorf("%s: received a message on %s: %s", c.User, subject, m.Subject)
	} else if !errors.Is(err, nats.ErrPermissionViolation) {
		t.Errorf("%s: NextMsg on %s: %v, want a permissions violation", c.User, subject, err)
	}
}

// ExpectNoViolations asserts that the server refused nothing c did.
func ExpectNoViolations(t *testing.T, c *Client) {
	t.Helper()
	if v := c.Violations(); len(v) > 0 {
		t.Errorf("%s: the server refused what the user needs to do its job: %q", c.User, v)
	}
}

// Request publishes data to subject with a reply inbox, as a JetStream API
// call does, and waits for the answer.
func Request(c *Client, subject string, data []byte) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.NC.RequestWithContext(ctx, subject, data)
		return err
	}
}

// PublishMsg publishes to a stream and waits for the PubAck.
func PublishMsg(c *Client, subject string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.JS.Publish(ctx, subject, []byte(`{}`))
		return err
	}
}

// Delivery is a structured CloudEvent as the router puts it on DELIVERY.
func Delivery(t *testing.T, id string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": "urn:nld:kvknr:99999904:systeem:schuldhulp",
		"type": events.TypeSamenloop, "datacontenttype": "application/json",
		"data": map[string]any{"categorie": "schulden"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Deliver puts a delivery for partnerID on DELIVERY as the router does,
// connected as the router user.
func Deliver(t *testing.T, s *Server, partnerID, id string) {
	t.Helper()
	rt := s.Connect(t, natsauth.UserRouter)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := rt.JS.Publish(ctx, events.DeliverySubject(partnerID), Delivery(t, id)); err != nil {
		t.Fatalf("router publishes a delivery for %s: %v", partnerID, err)
	}
	ExpectNoViolations(t, rt)
}

// ConsumerState returns the delivered and pending counts of a consumer, as
// admin sees them.
func (s *Server) ConsumerState(t *testing.T, stream, name string) *jetstream.ConsumerInfo {
	t.Helper()
	admin := s.Connect(t, natsauth.UserAdmin)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := admin.JS.Consumer(ctx, stream, name)
	if err != nil {
		t.Fatalf("consumer %s/%s: %v", stream, name, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// StreamMsgs returns how many messages stream holds, as admin sees it.
func (s *Server) StreamMsgs(t *testing.T, stream string) uint64 {
	t.Helper()
	admin := s.Connect(t, natsauth.UserAdmin)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := admin.JS.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}
