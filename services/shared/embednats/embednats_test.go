package embednats_test

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/services/shared/embednats"
	"github.com/ketenbus/ketenbus/services/shared/testutil/filetest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
)

// marker is stored in a message; it must never be readable in the store
// files of an encrypted server.
const marker = "toelichting-MARKER-7f3a9c-buurman-meldt-zorgen"

// testKey is a JetStream key as `ketenbus dev` generates one: 32 random
// bytes in standard base64.
const testKey = "q3b9mW1cYy0nZ8fJ5tKp2XgVh4sLr7uEo6dAi+Nw/0c="

// start starts an embedded server on dir with key, logging at debug level
// into logs, and stops it when the test ends.
func start(t *testing.T, dir, key string, logs *logtest.Buffer) (*server.Server, jetstream.JetStream) {
	t.Helper()
	s, err := embednats.Start(embednats.Config{
		StoreDir:      dir,
		EncryptionKey: key,
		Logger:        slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatalf("start nats-server: %v", err)
	}
	t.Cleanup(s.Shutdown)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return s, js
}

// store puts the marker into a file-backed stream with a durable consumer,
// so the store holds message blocks, indexes and consumer state.
func store(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SECRETS", Subjects: []string{"secret.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatalf("create stream: %v", err)
	}
	if _, err := js.Publish(ctx, "secret.one", []byte(`{"data":{"toelichting":"`+marker+`"}}`)); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if _, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "reader", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatalf("create consumer: %v", err)
	}
}

// read returns the data of the first message of the stream.
func read(t *testing.T, js jetstream.JetStream) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "SECRETS")
	if err != nil {
		t.Fatalf("stream after restart: %v", err)
	}
	m, err := st.GetMsg(ctx, 1)
	if err != nil {
		t.Fatalf("message after restart: %v", err)
	}
	return m.Data
}

func stop(s *server.Server) {
	s.Shutdown()
	s.WaitForShutdown()
}

var aesNotice = regexp.MustCompile(`Encryption: +AES-GCM`)

// TestEncryptionAtRest: with a key, no file of the store holds the
// message in clear, the server says it uses AES-GCM, and a restart with
// the key reads the message back; without a key the same data is on disk
// in clear (so the test can fail).
func TestEncryptionAtRest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		key       string
		wantClear bool
	}{
		{name: "with key", key: testKey, wantClear: false},
		{name: "without key", key: "", wantClear: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var logs logtest.Buffer
			s, js := start(t, dir, tc.key, &logs)
			store(t, js)
			stop(s)

			found, files := filetest.Containing(t, dir, marker)
			if files == 0 {
				t.Fatal("the store directory holds no files")
			}
			switch {
			case tc.wantClear && len(found) == 0:
				t.Fatalf("without a key no store file holds the message in clear; the check cannot tell encryption from no data")
			case !tc.wantClear && len(found) > 0:
				t.Fatalf("encrypted store: the message is readable in clear in %v", found)
			}
			if got := aesNotice.MatchString(logs.String()); got == tc.wantClear {
				t.Errorf("server log says AES-GCM: %v, want %v", got, !tc.wantClear)
			}

			// Restart with the same key: the data is still there.
			s2, js2 := start(t, dir, tc.key, &logs)
			if got := read(t, js2); !bytes.Contains(got, []byte(marker)) {
				t.Errorf("after restart the message is %q, want the marker", got)
			}
			stop(s2)
		})
	}
}

// TestEncryptionConvertsPlaintextStore: a store written without a key is
// encrypted on the first start with one, and stays readable.
func TestEncryptionConvertsPlaintextStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var logs logtest.Buffer
	s, js := start(t, dir, "", &logs)
	store(t, js)
	stop(s)
	if found, _ := filetest.Containing(t, dir, marker); len(found) == 0 {
		t.Fatal("without a key no store file holds the message in clear")
	}

	s, js = start(t, dir, testKey, &logs)
	if got := read(t, js); !bytes.Contains(got, []byte(marker)) {
		t.Fatalf("after turning encryption on the message is %q, want the marker", got)
	}
	stop(s)
	if found, _ := filetest.Containing(t, dir, marker); len(found) > 0 {
		t.Errorf("after a start with a key the message is still in clear in %v", found)
	}
}
