package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

// TestStreams: DELIVERY holds five messages for two partners, each read by
// its own consumer: politie's has fetched its three and acked the first,
// ggz's had one delivered twice without an ack. DLQ holds two dead
// letters of politie and one of ggz. ketenbus streams reports exactly
// those numbers, as JSON and as tables, and no message content.
func TestStreams(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const content = "inhoud-die-niet-getoond-wordt"
	publish := func(subject string) {
		t.Helper()
		if _, err := env.JS.Publish(ctx, subject, []byte(`{"x":"`+content+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"politie", "ggz", "politie", "ggz", "politie"} { // DELIVERY 1..5
		publish(events.DeliverySubject(p))
	}
	for _, p := range []string{"politie", "ggz", "politie"} {
		publish(events.DLQSubject(p))
	}
	env.StoreEvent(t, "politie", map[string]any{"specversion": "1.0", "type": events.TypeSignaal,
		"source": "urn:nld:oin:00000009999999990004:systeem:bvh", "id": "sig-1"})

	consumer := func(name, partner string, ackWait time.Duration) jetstream.Consumer {
		t.Helper()
		c, err := env.JS.CreateOrUpdateConsumer(ctx, events.StreamDelivery, jetstream.ConsumerConfig{
			Durable: name, FilterSubject: events.DeliverySubject(partner), AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	fetch := func(c jetstream.Consumer, n int) []jetstream.Msg {
		t.Helper()
		batch, err := c.Fetch(n, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if len(msgs) != n {
			t.Fatalf("fetched %d messages, want %d", len(msgs), n)
		}
		return msgs
	}
	politie := consumer("adapter-politie", "politie", time.Minute)
	msgs := fetch(politie, 3) // sequences 1, 3, 5
	if err := msgs[0].DoubleAck(ctx); err != nil {
		t.Fatal(err)
	}
	ggz := consumer("adapter-ggz", "ggz", 100*time.Millisecond)
	fetch(ggz, 1) // sequence 2, not acked
	time.Sleep(300 * time.Millisecond)
	if md, err := fetch(ggz, 1)[0].Metadata(); err != nil || md.NumDelivered != 2 || md.Sequence.Stream != 2 {
		t.Fatalf("redelivery: %+v, %v; want sequence 2 delivered twice", md, err)
	}

	delivery, err := env.JS.Stream(ctx, events.StreamDelivery)
	if err != nil {
		t.Fatal(err)
	}
	stored := func(seq uint64) time.Time {
		m, err := delivery.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		return m.Time.UTC()
	}

	conn := []string{"--config", regionFile, "--nats-url", env.URL}
	before := time.Now()
	code, out, errOut := ketenbus(t, "", append([]string{"streams", "--json"}, conn...)...)
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errOut)
	}
	if strings.Contains(out, content) {
		t.Errorf("the output holds message content:\n%s", out)
	}
	var rep streamsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json is not one object: %v\n%s", err, out)
	}
	var names []string
	for _, s := range rep.Streams {
		names = append(names, s.Name)
	}
	// KV_ketenbus-retired is the retired bucket's stream: its replicas
	// matter as much as the others'.
	if !slices.Equal(names, []string{"EVENTS", "DELIVERY", "DLQ", "AUDIT", "ACTIVITY", "KV_ketenbus-retired"}) {
		t.Errorf("streams %v, want EVENTS, DELIVERY, DLQ, AUDIT, ACTIVITY, KV_ketenbus-retired", names)
	}
	for _, want := range []struct {
		name              string
		msgs, first, last uint64
	}{
		{name: "EVENTS", msgs: 1, first: 1, last: 1},
		{name: "DELIVERY", msgs: 5, first: 1, last: 5},
		{name: "DLQ", msgs: 3, first: 1, last: 3},
		{name: "AUDIT", msgs: 0, first: 0, last: 0},
		{name: "ACTIVITY", msgs: 0, first: 0, last: 0},
	} {
		i := slices.Index(names, want.name)
		if i < 0 {
			continue
		}
		s := rep.Streams[i]
		if s.Messages != want.msgs || s.FirstSeq != want.first || s.LastSeq != want.last || (s.Messages > 0) != (s.FirstTime != nil && s.LastTime != nil) || (s.Messages > 0) != (s.Bytes > 0) {
			t.Errorf("stream %+v, want %d messages, sequences %d to %d, times and bytes when not empty", s, want.msgs, want.first, want.last)
		}
	}
	if s := rep.Streams[1]; s.FirstTime == nil || !s.FirstTime.Equal(stored(1)) || !s.LastTime.Equal(stored(5)) {
		t.Errorf("DELIVERY times %v %v, want %v %v", s.FirstTime, s.LastTime, stored(1), stored(5))
	}
	if len(rep.DLQ) != 2 || rep.DLQ["politie"] != 2 || rep.DLQ["ggz"] != 1 {
		t.Errorf("dlq_per_partner %v, want politie 2, ggz 1", rep.DLQ)
	}
	if len(rep.Consumers) != 2 {
		t.Fatalf("consumers %+v, want adapter-ggz and adapter-politie", rep.Consumers)
	}
	g, p := rep.Consumers[0], rep.Consumers[1]
	if g.Name != "adapter-ggz" || g.Stream != "DELIVERY" || g.Pending != 1 || g.AckPending != 1 || g.Redeliveries != 1 ||
		g.OldestUnackedSeq != 2 || g.OldestUnackedTime == nil || !g.OldestUnackedTime.Equal(stored(2)) {
		t.Errorf("ggz consumer %+v, want 1 pending, 1 ack pending, 1 redelivered, oldest unacked sequence 2", g)
	}
	if p.Name != "adapter-politie" || p.Pending != 0 || p.AckPending != 2 || p.Redeliveries != 0 ||
		p.OldestUnackedSeq != 3 || p.OldestUnackedTime == nil || !p.OldestUnackedTime.Equal(stored(3)) {
		t.Errorf("politie consumer %+v, want 0 pending, 2 ack pending, oldest unacked sequence 3 (the first of politie after the ack floor 1)", p)
	}
	if maxAge := time.Since(stored(3)).Seconds(); p.OldestUnackedAge < before.Sub(stored(3)).Seconds() || p.OldestUnackedAge > maxAge {
		t.Errorf("oldest unacked age %gs, want between %gs and %gs", p.OldestUnackedAge, before.Sub(stored(3)).Seconds(), maxAge)
	}

	code, out, errOut = ketenbus(t, "", append([]string{"streams"}, conn...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(out, content) {
		t.Errorf("the output holds message content:\n%s", out)
	}
	var rows []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			rows = append(rows, strings.Join(f, " "))
		}
	}
	for _, want := range []string{
		"STREAM MESSAGES BYTES FIRST SEQ FIRST TIME LAST SEQ LAST TIME",
		"AUDIT 0 0 0 - 0 -",
		"ACTIVITY 0 0 0 - 0 -",
		"STREAM CONSUMER PENDING ACK PENDING REDELIVERED OLDEST UNACKED",
		"DELIVERY adapter-ggz 1 1 1 ",     // then the age
		"DELIVERY adapter-politie 0 2 0 ", // then the age
		"PARTNER DLQ MESSAGES",
		"ggz 1",
		"politie 2",
	} {
		if !slices.ContainsFunc(rows, func(r string) bool { return r == want || strings.HasSuffix(want, " ") && strings.HasPrefix(r, want) }) {
			t.Errorf("no row %q in:\n%s", want, out)
		}
	}
}

// TestStreamsEnsure: on a server without streams, ensure creates every
// stream and the consumer of the demo region's NATS-native partner; run
// again it changes nothing; a --replicas other than the streams have is
// refused without --yes, and nothing changes.
func TestStreamsEnsure(t *testing.T) {
	t.Parallel()
	srv := natstest.Run(t, &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir()})
	url := srv.ClientURL()
	base := []string{"streams", "ensure", "--config", regionFile, "--nats-url", url}

	code, out, errOut := ketenbus(t, "", base...)
	if code != 0 {
		t.Fatalf("ensure: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"stream EVENTS    created, 1 replica(s)", "stream DELIVERY  created", "stream DLQ       created",
		"stream AUDIT     created", "stream KV_ketenbus-retired created, 1 replica(s)", "consumer partner-woningcorporatie on DELIVERY for NATS-native partner woningcorporatie: up to date"} {
		if !strings.Contains(out, want) {
			t.Errorf("ensure output lacks %q:\n%s", want, out)
		}
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range []string{events.StreamEvents, events.StreamDelivery, events.StreamDLQ, events.StreamAudit} {
		if _, err := js.Stream(ctx, name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
	if _, err := js.Consumer(ctx, events.StreamDelivery, bus.PartnerConsumer("woningcorporatie")); err != nil {
		t.Errorf("the NATS-native partner's consumer: %v", err)
	}
	// The retired bucket is made here, with the streams' replicas, not by
	// the first adapter with its own.
	if kv, err := js.KeyValue(ctx, bus.RetiredBucket); err != nil {
		t.Errorf("bucket %s: %v", bus.RetiredBucket, err)
	} else if st, err := kv.Status(ctx); err != nil || st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config.Replicas != 1 {
		t.Errorf("bucket %s: %v", bus.RetiredBucket, err)
	}

	code, out, errOut = ketenbus(t, "", base...)
	if code != 0 || !strings.Contains(out, "stream EVENTS    up to date, 1 replica(s)") || strings.Contains(out, "created") {
		t.Errorf("ensure again: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = ketenbus(t, "", append(base, "--json")...)
	var rep ensured
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil || len(rep.Streams) != 6 || rep.Streams[0] != (ensuredStream{"EVENTS", false, 1}) ||
		len(rep.Consumers) != 1 || rep.Consumers[0] != (ensuredConsumer{"DELIVERY", "partner-woningcorporatie", "woningcorporatie"}) {
		t.Errorf("ensure --json: exit %d, %v\n%s%s", code, err, out, errOut)
	}

	code, out, errOut = ketenbus(t, "", append(base, "--replicas", "3")...)
	if code != 2 || out != "" || !strings.Contains(errOut, "EVENTS has 1, DELIVERY has 1") ||
		!strings.Contains(errOut, "not --replicas 3: pass the --replicas the streams have, or --yes to change them") {
		t.Errorf("--replicas 3 over R1 streams: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "KV_ketenbus-retired has 1") {
		t.Errorf("--replicas 3 over an R1 bucket does not name it:\n%s", errOut)
	}
	for _, name := range []string{events.StreamEvents, events.StreamDelivery, events.StreamDLQ, events.StreamAudit, "ACTIVITY", "KV_ketenbus-retired"} {
		if st, err := js.Stream(ctx, name); err != nil || st.CachedInfo().Config.Replicas != 1 {
			t.Errorf("%s changed: %v", name, err)
		}
	}
	// With --yes it asks JetStream, which says why it cannot.
	code, out, errOut = ketenbus(t, "", append(base, "--replicas", "3", "--yes")...)
	if code != 1 || !strings.Contains(errOut, "replicas > 1 not supported in non-clustered mode") || strings.Contains(errOut, "admin user?") {
		t.Errorf("--replicas 3 --yes on a single server: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = ketenbus(t, "", append(base, "--replicas", "0")...)
	if code != 2 || !strings.Contains(errOut, "--replicas 0: pass 1 for a single server, 3 for a cluster") {
		t.Errorf("--replicas 0: exit %d, %s", code, errOut)
	}
}

// TestOpsNATSUser: --nats-user connects as that user with the password of
// KETENBUS_NATS_PASSWORD_<USER> and its own inbox prefix, as the services
// do; a variable that is not set is a usage error naming it.
func TestOpsNATSUser(t *testing.T) {
	const password = "dGVzdC1hZG1pbi13YWNodHdvb3JkLzEyMys="
	srv := natstest.Run(t, &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		Users: []*server.User{{Username: "admin", Password: password}}})
	base := []string{"streams", "ensure", "--config", regionFile, "--nats-url", srv.ClientURL(), "--nats-user", "admin"}
	t.Setenv("KETENBUS_NATS_PASSWORD_ADMIN", "")
	code, _, errOut := ketenbus(t, "", base...)
	if code != 2 || !strings.Contains(errOut, "--nats-user admin: its password variable KETENBUS_NATS_PASSWORD_ADMIN is not set") {
		t.Errorf("without the password: exit %d, %s", code, errOut)
	}
	t.Setenv("KETENBUS_NATS_PASSWORD_ADMIN", password)
	code, out, errOut := ketenbus(t, "", base...)
	if code != 0 || !strings.Contains(out, "stream EVENTS    created") || strings.Contains(out+errOut, password) {
		t.Errorf("as admin: exit %d\n%s%s", code, out, errOut)
	}
}
