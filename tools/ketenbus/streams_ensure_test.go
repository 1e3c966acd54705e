package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

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
