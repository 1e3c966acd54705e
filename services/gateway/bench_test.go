package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

// BenchmarkIngest measures gateway ingest beside raw nats.go JetStream
// publishing of the same events to the same server, in the same run, and
// prints the ratios the foundation asks for: single-event HTTP at 64
// concurrent clients against raw synchronous publish (target ≥ 1.5), and
// batches of 100 from 32 concurrent clients against raw asynchronous
// publish (target ≥ 0.5). Batches are stored atomically, which costs the
// server a second write per message (staging, then commit).
// nats-server runs as its own process, as in production.
func BenchmarkIngest(b *testing.B) { benchIngest(b, natstest.StartProcess) }

// BenchmarkIngestCluster is BenchmarkIngest against a cluster of three
// nats-server processes with R3 streams, as production runs.
func BenchmarkIngestCluster(b *testing.B) { benchIngest(b, natstest.StartCluster) }

// BenchmarkIngestEmbedded is BenchmarkIngest with nats-server inside the
// benchmark process, as in `ketenbus dev`.
func BenchmarkIngestEmbedded(b *testing.B) { benchIngest(b, natstest.Start) }

func benchIngest(b *testing.B, startNATS func(testing.TB) *natstest.Env) {
	var rawSync, rawAsync, single, batch float64
	b.Run("raw-sync-publish", func(b *testing.B) {
		rawSync = rawPublish(b, startNATS(b), func(js jetstream.JetStream, _ int, msg *nats.Msg) error {
			_, err := js.PublishMsg(b.Context(), msg)
			return err
		})
	})
	b.Run("raw-async-publish", func(b *testing.B) {
		rawAsync = rawPublish(b, startNATS(b), func(js jetstream.JetStream, i int, msg *nats.Msg) error {
			if _, err := js.PublishMsgAsync(msg); err != nil {
				return err
			}
			if i%500 == 499 {
				<-js.PublishAsyncComplete()
			}
			return nil
		})
	})
	b.Run("http-single-64-clients", func(b *testing.B) {
		single = httpIngest(b, startNATS(b), 64, 1)
	})
	b.Run("http-batch-100", func(b *testing.B) {
		batch = httpIngest(b, startNATS(b), 32, 100)
	})
	if rawSync > 0 && single > 0 {
		fmt.Printf("%s: single-event HTTP ingest %.0f events/s = %.2fx raw sync publish %.0f msg/s (target >= 1.5x)\n", b.Name(), single, single/rawSync, rawSync)
	}
	if rawAsync > 0 && batch > 0 {
		fmt.Printf("%s: batch-100 HTTP ingest %.0f events/s = %.2fx raw async publish %.0f msg/s (target >= 0.5x)\n", b.Name(), batch, batch/rawAsync, rawAsync)
	}
}

// rawPublish publishes b.N copies of storedBody with publish, each with
// its own Nats-Msg-Id, waits for every asynchronous ack and returns the
// messages per second.
func rawPublish(b *testing.B, env *natstest.Env, publish func(js jetstream.JetStream, i int, msg *nats.Msg) error) float64 {
	body := storedBody(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		msg := &nats.Msg{Subject: "ketenbus.events.signaal.v1.politie", Data: body, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, "raw-"+strconv.Itoa(i))
		if err := publish(env.JS, i, msg); err != nil {
			b.Fatal(err)
		}
	}
	<-env.JS.PublishAsyncComplete()
	return perSecond(b, b.N)
}

// httpIngest posts events to a gateway on env from clients concurrent
// connections, one event per request when perPost is 1, else batches of
// perPost, and returns the events per second.
func httpIngest(b *testing.B, env *natstest.Env, clients, perPost int) float64 {
	url := benchGateway(b, env)
	tmpl := newTemplate(b)
	var seq atomic.Int64
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := dialLoad(b, url, tokenPolitie)
		var buf []byte
		for pb.Next() {
			if perPost == 1 {
				buf = tmpl.event(buf[:0], seq.Add(1))
				postBench(b, c, events.ContentTypeStructured, buf)
				continue
			}
			buf = append(buf[:0], '[')
			for j := 0; j < perPost; j++ {
				if j > 0 {
					buf = append(buf, ',')
				}
				buf = tmpl.event(buf, seq.Add(1))
			}
			buf = append(buf, ']')
			postBench(b, c, events.ContentTypeBatch, buf)
		}
	})
	return perSecond(b, b.N*perPost)
}

// template is a pre-encoded signaal with a unique id spliced in, so the
// benchmark's clients spend almost nothing of the shared CPU.
type template struct{ prefix, suffix []byte }

func newTemplate(b *testing.B) template {
	body, err := json.Marshal(signaal("@ID@"))
	if err != nil {
		b.Fatal(err)
	}
	pre, suf, _ := bytes.Cut(body, []byte("@ID@"))
	return template{prefix: pre, suffix: suf}
}

func (t template) event(buf []byte, n int64) []byte {
	buf = append(buf, t.prefix...)
	buf = append(buf, "bench-"...)
	buf = strconv.AppendInt(buf, n, 10)
	return append(buf, t.suffix...)
}

func perSecond(b *testing.B, n int) float64 {
	r := float64(n) / b.Elapsed().Seconds()
	b.ReportMetric(r, "events/s")
	return r
}

// storedBody is an event as the gateway stores it, for the raw baselines.
func storedBody(b *testing.B) []byte {
	b.Helper()
	body, _ := json.Marshal(signaal("raw"))
	p, err := events.Default().ParseStructured(body)
	if err != nil {
		b.Fatal(err)
	}
	p.Event.SetSubject(pseudonymOf(testBSN))
	out, _ := p.Event.MarshalJSON()
	return out
}

func benchGateway(b *testing.B, env *natstest.Env) string {
	b.Helper()
	reg, err := region.Load("testdata/bench-region.yaml")
	if err != nil {
		b.Fatal(err)
	}
	g, err := gateway.New(gateway.Config{
		Region:    reg,
		Secrets:   region.Secrets{PseudonymKey: pseudonymKey, EncryptionKeys: fieldKeys, Tokens: map[string]string{"politie": tokenPolitie}},
		JetStream: env.JS,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(g)
	b.Cleanup(g.Close)
	b.Cleanup(srv.Close)
	return srv.URL + "/v1/events"
}

func postBench(b *testing.B, c *loadConn, contentType string, body []byte) {
	status, err := c.post(contentType, body)
	if err != nil {
		b.Error(err)
		return
	}
	if status != http.StatusAccepted {
		b.Errorf("status %d", status)
	}
}
