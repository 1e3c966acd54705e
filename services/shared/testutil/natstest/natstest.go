// Package natstest starts the real nats-server, embedded in the test
// process, with the ketenbus streams created.
package natstest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/embednats"
	"github.com/ketenbus/ketenbus/services/shared/streams"
)

// Env is a running nats-server with a client connection.
type Env struct {
	Server *server.Server
	Conn   *nats.Conn
	JS     jetstream.JetStream
	URL    string
}

// Start starts nats-server on a free port with its store in a temporary
// directory, connects, creates the ketenbus streams, and stops it all when
// the test ends.
func Start(tb testing.TB) *Env {
	tb.Helper()
	s, err := embednats.Start(embednats.Config{StoreDir: tb.TempDir()})
	if err != nil {
		tb.Fatalf("start embedded nats-server: %v", err)
	}
	tb.Cleanup(s.Shutdown)
	nc, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		tb.Fatalf("connect to embedded nats-server: %v", err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("jetstream: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := streams.Ensure(ctx, js, streams.Config{}); err != nil {
		tb.Fatalf("create streams: %v", err)
	}
	return &Env{Server: s, Conn: nc, JS: js, URL: s.ClientURL()}
}

// Messages returns every message stored in stream, in order.
func (e *Env) Messages(tb testing.TB, stream string) []*jetstream.RawStreamMsg {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := e.JS.Stream(ctx, stream)
	if err != nil {
		tb.Fatalf("stream %s: %v", stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		tb.Fatalf("stream %s info: %v", stream, err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted
		}
		out = append(out, m)
	}
	return out
}

// Produced returns the events of type typ that ketenbus itself stored on
// EVENTS (escalatie, samenloop), in order, each checked against the
// catalog: one that does not pass fails the test.
func (e *Env) Produced(tb testing.TB, typ string) []cloudevents.Event {
	tb.Helper()
	var out []cloudevents.Event
	for _, m := range e.Messages(tb, events.StreamEvents) {
		if m.Subject != events.EventSubject(typ, events.Producer) {
			continue
		}
		p, err := events.Default().ParseStructured(m.Data)
		if err != nil {
			tb.Fatalf("%s at %d does not pass the catalog: %v", typ, m.Sequence, err)
		}
		out = append(out, p.Event)
	}
	return out
}

// StoreEvent puts a structured event on EVENTS as the gateway stores it:
// on the subject of its type and the publishing partner, with the
// Nats-Msg-Id of its (source, id).
func (e *Env) StoreEvent(tb testing.TB, partner string, ev map[string]any) {
	tb.Helper()
	typ, _ := ev["type"].(string)
	source, _ := ev["source"].(string)
	id, _ := ev["id"].(string)
	body, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	m := &nats.Msg{Subject: events.EventSubject(typ, partner), Data: body,
		Header: nats.Header{jetstream.MsgIDHeader: {events.MsgID(source, id)}}}
	if _, err := e.JS.PublishMsg(context.Background(), m); err != nil {
		tb.Fatalf("store %s %s: %v", typ, id, err)
	}
}

// Run starts nats-server with opts (its signals and log off) and stops it
// when the test ends: for tests that need a server configured their own
// way, with accounts and permissions.
func Run(tb testing.TB, opts *server.Options) *server.Server {
	tb.Helper()
	opts.NoSigs, opts.NoLog = true, true
	srv, err := server.NewServer(opts)
	if err != nil {
		tb.Fatalf("nats-server: %v", err)
	}
	go srv.Start()
	tb.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(10 * time.Second) {
		tb.Fatal("nats-server not ready")
	}
	return srv
}
